"""Orders' data access against the emulator's DynamoDB, through the real SDK."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest

from libs.caller import Caller
from libs.domain_events import utc_now
from libs.problems import Conflict, ValidationFailed
from services.orders import order_table, ordering
from services.orders.models import LineRequest, PlaceOrder
from tests.integration.order_examples import an_order, orders_and_key_record

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration


def a_caller() -> Caller:
    return Caller(user_id=f"user-{uuid.uuid4()}", groups=frozenset())


REQUEST = PlaceOrder(items=[LineRequest(product_id="usb-c-hub", quantity=1)])


async def test_orders_of_a_user_come_newest_first_in_pages(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given five orders of one user, created a second apart, and one of somebody else
    user = a_caller().user_id
    orders = [an_order(user, f"2026-01-01T00:00:0{i}.000Z") for i in range(5)]
    for order in [*orders, an_order("someone-else")]:
        await order_table.insert_order(dynamodb, table_name, order, None)
    # When the user's orders are read two at a time
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await order_table.orders_of_user(dynamodb, table_name, user, limit=2, cursor=cursor)
        seen += [o.order_id for o in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then they come newest first, each once, in three pages, and only theirs
    assert seen == [o.order_id for o in reversed(orders)]
    assert pages == 3


async def test_a_stale_update_is_a_conflict_and_changes_nothing(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    order = an_order(a_caller().user_id)
    await order_table.insert_order(dynamodb, table_name, order, None)
    updated = await order_table.update_status(
        dynamodb, table_name, order, "CONFIRMED", expected_version=1, now=utc_now()
    )
    assert (updated.status, updated.version) == ("CONFIRMED", 2)
    with pytest.raises(Conflict):
        await order_table.update_status(
            dynamodb, table_name, order, "CANCELLED", expected_version=1, now=utc_now()
        )
    stored = await order_table.get_order(dynamodb, table_name, order.order_id)
    assert stored is not None
    assert (stored.status, stored.version) == ("CONFIRMED", 2)


async def test_an_unknown_product_is_refused_before_anything_is_written(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    caller = a_caller()
    request = PlaceOrder(items=[LineRequest(product_id="does-not-exist", quantity=1)])
    with pytest.raises(ValidationFailed) as raised:
        await ordering.place_order(dynamodb, table_name, caller, request, "key-1")
    assert raised.value.invalid_params is not None
    assert raised.value.invalid_params[0].name == "items[0].productId"
    stored = await orders_and_key_record(dynamodb, table_name, caller.user_id, "key-1")
    assert stored == ([], None)


async def test_racing_placements_with_one_key_store_one_order(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given twenty placements with the same key, racing on one event loop
    caller = a_caller()
    results = await asyncio.gather(
        *(ordering.place_order(dynamodb, table_name, caller, REQUEST, "race") for _ in range(20))
    )
    # Then every caller gets the same order, exactly one made it, and one order is stored
    assert len({r.order.order_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    page = await order_table.orders_of_user(
        dynamodb, table_name, caller.user_id, limit=50, cursor=None
    )
    assert [o.order_id for o in page.items] == [results[0].order.order_id]


async def test_the_idempotency_record_expires_through_the_tables_ttl(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    caller = a_caller()
    await ordering.place_order(dynamodb, table_name, caller, REQUEST, "ttl-key")
    response = await dynamodb.get_item(
        TableName=table_name,
        Key={"PK": {"S": f"IDEMPOTENCY#{caller.user_id}#ttl-key"}, "SK": {"S": "RECORD"}},
    )
    ttl = await dynamodb.describe_time_to_live(TableName=table_name)
    attribute = ttl["TimeToLiveDescription"]["AttributeName"]
    assert int(response["Item"][attribute]["N"]) > 0
