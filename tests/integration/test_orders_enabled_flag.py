"""The ``orders.enabled`` flag as a kill switch: while it is off, placing writes nothing at all."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from libs.caller import Caller
from libs.problems import OrderingPaused
from libs.resources.feature_flags import OrderFlags
from libs.table_keys import OUTBOX_PREFIX
from services.orders import order_table, ordering
from services.orders.models import LineRequest, PlaceOrder

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

ONE_LINE = PlaceOrder(items=[LineRequest(product_id="usb-c-hub", quantity=2)])
PAUSED = OrderFlags(enabled=False)
OPEN = OrderFlags(enabled=True)


async def outbox_of_user(db: DynamoDBClient, table: str, user_id: str) -> list[dict[str, Any]]:
    """The outbox items whose event names ``user_id``."""
    items: list[dict[str, Any]] = []
    async for page in db.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(PK, :outbox) AND contains(detail, :user)",
        ExpressionAttributeValues={":outbox": {"S": OUTBOX_PREFIX}, ":user": {"S": user_id}},
        ConsistentRead=True,
    ):
        items += page.get("Items", [])
    return items


async def test_a_paused_placement_writes_nothing_and_succeeds_once_ordering_resumes(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given a caller, and the orders flag switched off
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    # When they place an order with an Idempotency-Key
    with pytest.raises(OrderingPaused) as refused:
        await ordering.place_order(dynamodb, table_name, caller, ONE_LINE, "key-1", flags=PAUSED)
    # Then it is refused as paused (a 503 with Retry-After)
    assert refused.value.status == 503
    assert int(refused.value.headers["Retry-After"]) >= 1
    # And no order, no idempotency record and no event was stored
    page = await order_table.orders_of_user(
        dynamodb, table_name, caller.user_id, limit=10, cursor=None
    )
    assert page.items == []
    assert (
        await order_table.idempotency_record(dynamodb, table_name, caller.user_id, "key-1") is None
    )
    assert await outbox_of_user(dynamodb, table_name, caller.user_id) == []
    # When the flag is switched back on and the client retries with the same key
    placed = await ordering.place_order(dynamodb, table_name, caller, ONE_LINE, "key-1", flags=OPEN)
    # Then the order is placed now (the paused attempt spent nothing), with its one event
    assert not placed.replayed
    assert await order_table.get_order(dynamodb, table_name, placed.order.order_id) == placed.order
    (event,) = await outbox_of_user(dynamodb, table_name, caller.user_id)
    assert event["detailType"] == {"S": "OrderCreated"}


async def test_a_keyed_retry_of_an_order_placed_before_the_pause_still_answers_it(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given an order placed with a key while ordering was open
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    first = await ordering.place_order(dynamodb, table_name, caller, ONE_LINE, "key-1", flags=OPEN)
    # When ordering is paused and the client retries with that key
    retry = await ordering.place_order(
        dynamodb, table_name, caller, ONE_LINE, "key-1", flags=PAUSED
    )
    # Then it learns its order exists, and nothing more was written
    assert retry.replayed
    assert retry.order == first.order
    assert len(await outbox_of_user(dynamodb, table_name, caller.user_id)) == 1
    # But a new order, under another key, is refused
    with pytest.raises(OrderingPaused):
        await ordering.place_order(dynamodb, table_name, caller, ONE_LINE, "key-2", flags=PAUSED)
    assert (
        await order_table.idempotency_record(dynamodb, table_name, caller.user_id, "key-2") is None
    )
