"""Example orders for the integration tests that write orders straight to the table, and what
the table holds of a user's orders."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from libs.domain_events import utc_now
from services.orders import order_table
from services.orders.models import IdempotencyRecord, Order, OrderLine

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def an_order(user_id: str, created_at: str | None = None) -> Order:
    """A pending one-line order of ``user_id``, created now unless ``created_at`` is given."""
    now = created_at or utc_now()
    return Order(
        order_id=str(uuid.uuid4()),
        user_id=user_id,
        status="PENDING",
        items=[OrderLine(product_id="usb-c-hub", name="USB-C hub", quantity=1, unit_price=3450)],
        total=3450,
        currency="EUR",
        created_at=now,
        updated_at=now,
        version=1,
    )


async def orders_and_key_record(
    db: DynamoDBClient, table: str, user_id: str, idempotency_key: str
) -> tuple[list[Order], IdempotencyRecord | None]:
    """The user's stored orders (up to ten) and the record of ``idempotency_key``, if any."""
    page = await order_table.orders_of_user(db, table, user_id, limit=10, cursor=None)
    return page.items, await order_table.idempotency_record(db, table, user_id, idempotency_key)
