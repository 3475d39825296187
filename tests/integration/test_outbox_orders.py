"""Orders commit their events in the same transaction as the change they announce, or not at all."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from libs.caller import Caller
from libs.domain_events import OrderStatusChanged, utc_now
from libs.problems import Conflict
from libs.resources.table import MAIN_TABLE
from libs.table_keys import as_key, outbox_key
from services.orders import order_table, ordering
from services.orders.models import LineRequest, PlaceOrder
from tests.integration.order_examples import an_order

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration


async def outbox_of_order(db: DynamoDBClient, table: str, order_id: str) -> list[dict[str, Any]]:
    """The outbox items whose event is about ``order_id``."""
    items: list[dict[str, Any]] = []
    async for page in db.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(PK, :outbox) AND contains(detail, :order)",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX#"}, ":order": {"S": order_id}},
        ConsistentRead=True,
    ):
        items += page.get("Items", [])
    return items


async def test_a_placement_commits_one_order_created_event_and_its_replay_none(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given an order placed with an idempotency key, then the same request again
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    request = PlaceOrder(items=[LineRequest(product_id="usb-c-hub", quantity=2)])
    first = await ordering.place_order(dynamodb, table_name, caller, request, "k1", "corr-9")
    replay = await ordering.place_order(dynamodb, table_name, caller, request, "k1", "corr-9")
    assert replay.replayed
    # Then exactly one event was committed, describing the order, set to expire
    (item,) = await outbox_of_order(dynamodb, table_name, first.order.order_id)
    assert item["detailType"] == {"S": "OrderCreated"}
    detail = json.loads(item["detail"]["S"])
    assert (detail["userId"], detail["total"], detail["correlationId"]) == (
        caller.user_id,
        6900,
        "corr-9",
    )
    assert int(item[MAIN_TABLE.ttl_attribute]["N"]) > 0


async def test_a_status_change_commits_its_event_and_a_stale_one_commits_nothing(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given a pending order
    order = an_order(str(uuid.uuid4()))
    await order_table.insert_order(dynamodb, table_name, order, None)

    def change(status: str) -> OrderStatusChanged:
        return OrderStatusChanged(
            order_id=order.order_id,
            user_id=order.user_id,
            previous_status="PENDING",
            status=status,
            version=2,
        )

    confirmed, cancelled = change("CONFIRMED"), change("CANCELLED")
    # When it is confirmed at version 1, then cancelled at version 1 again (stale)
    updated = await order_table.update_status(
        dynamodb,
        table_name,
        order,
        "CONFIRMED",
        expected_version=1,
        now=utc_now(),
        events=[confirmed],
    )
    with pytest.raises(Conflict):
        await order_table.update_status(
            dynamodb,
            table_name,
            order,
            "CANCELLED",
            expected_version=1,
            now=utc_now(),
            events=[cancelled],
        )
    # Then the first change and its event are stored; the stale one left neither
    assert (updated.status, updated.version) == ("CONFIRMED", 2)
    stored = await order_table.get_order(dynamodb, table_name, order.order_id)
    assert stored == updated

    async def committed(event_id: str) -> bool:
        key = as_key(outbox_key(event_id))
        return "Item" in await dynamodb.get_item(TableName=table_name, Key=key, ConsistentRead=True)

    assert await committed(confirmed.event_id)
    assert not await committed(cancelled.event_id)
