"""The bulk seed writes the items the services write: same keys, attributes and lifetimes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from emulator.bulk_seed import SPAN_SECONDS, ShopGenerator, ShopSize, order_items
from libs.caller import Caller
from libs.domain_events import DomainEvent, OrderCreated, OrderStatusChanged, utc_now
from libs.resources.table import MAIN_TABLE
from libs.resources.user_pool import ADMIN_GROUP
from libs.sealed_fields import FieldSealer
from libs.single_table import from_item
from libs.table_keys import (
    as_key,
    idempotency_key,
    marker_key,
    order_key,
    outbox_key,
    profile_key,
)
from services.notifications.models import Recipient
from services.notifications.notification_table import notifications_of_user
from services.orders import ordering
from services.orders.models import ChangeStatus, LineRequest, Order, PlaceOrder
from services.users import profile_table
from services.users.models import PreferenceChanges, Preferences, StoredProfile, UpdateProfile
from services.users.profile_table import Sealing, profile_item

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient

    from tests.system_under_test import SystemUnderTest

pytestmark = pytest.mark.integration

TTL = MAIN_TABLE.ttl_attribute
# The consumer writes its marker and notification when it handles the event, a little after the
# event occurred (when the seed counts their lifetimes from): this much apart at most.
PROCESSING_SECONDS = 60


async def stored(db: DynamoDBClient, table: str, key: dict[str, str]) -> dict[str, Any]:
    response = await db.get_item(TableName=table, Key=as_key(key), ConsistentRead=True)
    assert "Item" in response, f"no item {key}"
    return dict(response["Item"])


async def notified(db: DynamoDBClient, table: str, user_id: str, count: int) -> list[str]:
    """The event ids of the user's notifications, once the consumer has written ``count``."""
    for _ in range(300):
        page = await notifications_of_user(db, table, user_id, limit=10, cursor=None)
        if len(page.items) >= count:
            return [n.notification_id for n in page.items]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the consumer wrote fewer than {count} notifications in 30 s")


def without(item: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in names}


async def test_an_order_placed_and_confirmed_is_seeded_as_the_services_wrote_it(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given an order placed with an Idempotency-Key and confirmed by an admin, through the
    # orders service's own logic, and both events handled by the notifications consumer
    shopper = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    request = PlaceOrder(items=[LineRequest(product_id="desk-lamp", quantity=2)])
    key = str(uuid.uuid4())
    placed = await ordering.place_order(dynamodb, table_name, shopper, request, key)
    admin = Caller(user_id=str(uuid.uuid4()), groups=frozenset({ADMIN_GROUP}))
    await ordering.change_status(
        dynamodb, table_name, admin, placed.order.order_id, ChangeStatus(status="CONFIRMED")
    )
    event_ids = await notified(dynamodb, table_name, shopper.user_id, 2)
    written = [
        await stored(dynamodb, table_name, order_key(placed.order.order_id)),
        await stored(dynamodb, table_name, idempotency_key(shopper.user_id, key)),
    ]
    events: list[DomainEvent] = []
    for event_id in event_ids:
        outbox = await stored(dynamodb, table_name, outbox_key(event_id))
        written += [outbox, await stored(dynamodb, table_name, marker_key(event_id))]
        kind = OrderCreated if outbox["detailType"]["S"] == "OrderCreated" else OrderStatusChanged
        events.append(msgspec.json.decode(outbox["detail"]["S"], type=kind))
    page = await notifications_of_user(dynamodb, table_name, shopper.user_id, limit=10, cursor=None)
    for notification in page.items:
        written.append(
            await stored(
                dynamodb,
                table_name,
                {
                    "PK": f"USER#{shopper.user_id}",
                    "SK": f"NOTIF#{notification.created_at}#{notification.notification_id}",
                },
            )
        )
    order = from_item(written[0], Order)
    events.sort(key=lambda event: event.occurred_at)

    # When the seed builds the same order's items from the same records
    seeded = order_items(order, request, key, events, Recipient())

    # Then they are the same items: same keys and attributes, the same values but for when the
    # consumer processed each event, and lifetimes counted from the same moments
    def by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(i["PK"]["S"], i["SK"]["S"]): i for i in items}

    services, seed = by_key(written), by_key(seeded)
    assert services.keys() == seed.keys()
    assert len(seed) == 8
    for item_key, item in services.items():
        twin = seed[item_key]
        assert item.keys() == twin.keys(), item_key
        assert without(item, TTL, "processedAt") == without(twin, TTL, "processedAt"), item_key
        if TTL in item:
            gap = abs(int(item[TTL]["N"]) - int(twin[TTL]["N"]))
            assert gap <= PROCESSING_SECONDS, item_key


@pytest.fixture(scope="module")
def sealing(stack: SystemUnderTest, kms: KMSClient) -> Sealing:
    return Sealing(FieldSealer(stack.outputs.pii_key_arn), kms)


async def test_a_profile_is_seeded_as_the_users_service_writes_it(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    # Given a profile saved through the users service with its preferences only
    user_id = str(uuid.uuid4())
    change = UpdateProfile(version=0, preferences=PreferenceChanges(email=False))
    profile = await profile_table.update_profile(
        dynamodb, table_name, user_id, change, sealing, now=utc_now()
    )
    # When the seed builds the item of that stored profile
    seeded = profile_item(profile)
    # Then it is the very item the service left
    assert seeded == await stored(dynamodb, table_name, profile_key(user_id))


def test_a_profile_with_personal_fields_is_refused_by_the_bulk_builder() -> None:
    # Given a profile with a phone (the service seals it per user with a KMS data key)
    profile = StoredProfile(
        user_id="u",
        preferences=Preferences(),
        created_at=utc_now(),
        updated_at=utc_now(),
        version=1,
        phone="+351910000000",
    )
    # Then the bulk builder will not write it in the clear
    with pytest.raises(ValueError, match="phone"):
        profile_item(profile)


def test_a_seeded_shop_has_every_kind_alive_and_orders_under_the_given_users() -> None:
    # Given a small shop whose first users are accounts of ours
    accounts = [str(uuid.uuid4()) for _ in range(3)]
    size = ShopSize(orders=200, users=20, products=30)
    # When its items are generated
    items = list(ShopGenerator(size, user_ids=accounts).items())
    # Then each key is written once, every kind the services write is there in the numbers
    # asked for, every item with a lifetime is still alive, and the accounts have orders
    keys = [(i["PK"]["S"], i["SK"]["S"]) for i in items]
    assert len(keys) == len(set(keys))
    kinds = Counter(i["entity"]["S"] for i in items)
    assert kinds["Order"] == kinds["IdempotencyRecord"] == 200
    assert kinds["Product"] == 30
    assert kinds["Profile"] == 20
    assert kinds["OutboxEvent"] == kinds["ProcessedMarker"] == kinds["Notification"] >= 200
    now = int(time.time())
    for item in items:
        lifetime = MAIN_TABLE.lifetime(item["entity"]["S"]).ttl_seconds
        if lifetime is None:
            assert TTL not in item
        else:
            assert now < int(item[TTL]["N"]) <= now + lifetime
            assert int(item[TTL]["N"]) > now + lifetime - SPAN_SECONDS - 3600
    owners = {i["GSI1PK"]["S"] for i in items if i["entity"]["S"] == "Order"}
    assert {f"USER#{account}" for account in accounts} <= owners
