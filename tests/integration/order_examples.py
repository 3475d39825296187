"""Example orders for the integration tests that write orders straight to the table."""

from __future__ import annotations

import uuid

from libs.domain_events import utc_now
from services.orders.models import Order, OrderLine


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
