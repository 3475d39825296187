"""The orders routes' contracts: what each takes and answers (for the OpenAPI document)."""

from __future__ import annotations

import uuid

import msgspec

from libs import json_patterns
from libs.api_contract import Header, Link, RouteContract, Success
from libs.problems import Conflict, NotFound, OrderingPaused, OrderRefused
from services.orders.models import (
    ChangeStatus,
    LineRequest,
    Order,
    OrderLine,
    OrderPage,
    OrderQuery,
    PlaceOrder,
    ShippingAddress,
)

# What the function accepts (orders/handler.py checks it): printable ASCII, as the IETF draft.
IDEMPOTENCY_KEY = Header(
    name="Idempotency-Key",
    description=(
        "Makes the order placement safe to retry: the same key with the same body answers the "
        "first order again (with `Idempotent-Replayed: true`); with another body it is a 409."
    ),
    schema={"type": "string", "pattern": json_patterns.IDEMPOTENCY_KEY},
)
_ADDRESS = ShippingAddress(
    name="Ada Lovelace",
    line1="12 Analytical Row",
    city="London",
    postal_code="N1 9GU",
    country="GB",
)
_PLACE = PlaceOrder(
    items=[LineRequest(product_id="usb-c-hub", quantity=2)], shipping_address=_ADDRESS
)
_ORDER = Order(
    order_id="0b6f1a52-7f3e-4c7e-9a41-5d2b8c9e0f13",
    user_id="5f1c8e2a-90d4-4b7b-8c3e-2a6d9f0b1c47",
    status="PENDING",
    items=[OrderLine(product_id="usb-c-hub", name="USB-C hub", quantity=2, unit_price=3450)],
    total=6900,
    currency="EUR",
    created_at="2026-03-14T09:26:53.589Z",
    updated_at="2026-03-14T09:26:53.589Z",
    version=1,
    shipping_address=_ADDRESS,
)
_CANCELLED = msgspec.structs.replace(
    _ORDER, status="CANCELLED", updated_at="2026-03-14T10:02:11.204Z", version=2
)
_ORDER_ID_NOTE = "An order id (a UUID); another user's order is a 404 like a missing one."
_PAGE_NOTES = {
    "limit": "Orders per page.",
    "cursor": "The `nextCursor` of the previous page; absent for the first page.",
}

CONTRACTS = (
    RouteContract(
        route="POST /orders",
        operation_id="placeOrder",
        description=(
            "Prices come from the catalog, never from the client. A product the catalog lacks, a "
            "product listed twice or products priced in different currencies are a 422 "
            "`order-refused` naming the line. The number of lines is capped by the "
            "`orders.maxItemsPerOrder` feature flag (a 422 `order-refused` naming `items` "
            "beyond it). "
            "While the `orders.enabled` feature flag is off, new orders are refused with a 503 "
            "`ordering-paused` and `Retry-After`; a retry with the `Idempotency-Key` of an order "
            "placed before still answers that order, and reading and cancelling go on."
        ),
        body=PlaceOrder,
        body_example=_PLACE,
        headers=(IDEMPOTENCY_KEY,),
        problems=(OrderRefused, Conflict, OrderingPaused),
        notes={"503": "ordering is paused (`ordering-paused`), or a dependency is busy"},
        success=Success(
            status=201,
            description="The order, placed now or by an earlier request with the same key",
            body=Order,
            example=_ORDER,
            headers=(
                Header(name="Location", description="The order's path"),
                Header(
                    name="Idempotent-Replayed",
                    description="`true` when the order was placed by an earlier request",
                    schema={"type": "string", "enum": ["true"]},
                ),
            ),
            links=(
                Link(
                    name="GetOrder",
                    operation_id="getOrder",
                    description="Read the order",
                    parameters={"orderId": "$response.body#/orderId"},
                ),
                Link(
                    name="ChangeOrderStatus",
                    operation_id="changeOrderStatus",
                    description="Move the order on (admins) or cancel it (its owner)",
                    parameters={"orderId": "$response.body#/orderId"},
                ),
            ),
        ),
    ),
    RouteContract(
        route="GET /orders",
        operation_id="listOrders",
        query=OrderQuery,
        notes=_PAGE_NOTES,
        success=Success(
            status=200,
            description="A page of the caller's orders, newest first",
            body=OrderPage,
            example=OrderPage(items=[_ORDER], next_cursor=None),
        ),
    ),
    RouteContract(
        route="GET /orders/{orderId}",
        operation_id="getOrder",
        parameters={"orderId": uuid.UUID},
        notes={"orderId": _ORDER_ID_NOTE},
        problems=(NotFound,),
        success=Success(status=200, description="The order", body=Order, example=_ORDER),
    ),
    RouteContract(
        route="PATCH /orders/{orderId}",
        operation_id="changeOrderStatus",
        description=(
            "Owners may cancel their order; admins may move any order along its life cycle "
            "(PENDING → CONFIRMED → SHIPPED → DELIVERED, or CANCELLED before shipping). With "
            "`version` the change applies only to that version of the order."
        ),
        parameters={"orderId": uuid.UUID},
        notes={"orderId": _ORDER_ID_NOTE},
        body=ChangeStatus,
        body_example=ChangeStatus(status="CANCELLED", version=1),
        problems=(NotFound, Conflict),
        success=Success(
            status=200, description="The order after the change", body=Order, example=_CANCELLED
        ),
    ),
)
