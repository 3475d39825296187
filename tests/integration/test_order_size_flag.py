"""Placing an order applies the ``orders`` flag's line limit before anything is written."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from libs.caller import Caller
from libs.problems import ValidationFailed
from libs.resources.feature_flags import OrderFlags
from services.orders import ordering
from services.orders.models import LineRequest, PlaceOrder
from tests.integration.order_examples import orders_and_key_record

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

THREE_LINES = PlaceOrder(
    items=[
        LineRequest(product_id=product, quantity=1)
        for product in ("usb-c-hub", "dynamodb-book", "notebook-a5")
    ]
)


async def test_an_order_over_the_flags_limit_is_refused_and_nothing_is_written(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given a caller, and a flag allowing two lines per order
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    two_lines = OrderFlags(max_items_per_order=2)
    # When they place a three-line order (with an Idempotency-Key, which must not be spent)
    with pytest.raises(ValidationFailed) as refused:
        await ordering.place_order(
            dynamodb, table_name, caller, THREE_LINES, "key-1", flags=two_lines
        )
    # Then it is refused naming the items, and neither an order nor the key was stored
    assert [p.name for p in refused.value.invalid_params or []] == ["items"]
    stored = await orders_and_key_record(dynamodb, table_name, caller.user_id, "key-1")
    assert stored == ([], None)


async def test_the_same_order_passes_with_the_declared_defaults(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    placed = await ordering.place_order(dynamodb, table_name, caller, THREE_LINES, None)
    assert len(placed.order.items) == 3
