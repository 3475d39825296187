"""Wire and stored shapes of orders."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from libs import json_patterns
from libs.field_types import ProductId
from libs.resources.feature_flags import ORDER_LINES_CAP
from libs.single_table import PageQuery

OrderStatus = Literal["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=100)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LineRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """One product and how many of it."""

    product_id: ProductId
    quantity: Quantity


class ShippingAddress(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Where an order goes."""

    name: Text
    line1: Text
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern=json_patterns.COUNTRY)]
    line2: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class PlaceOrder(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The body of POST /orders; prices are never taken from the client.

    ``items`` has a hard cap (``maxItems``); the ``orders.maxItemsPerOrder`` feature flag may
    allow fewer.
    """

    items: Annotated[list[LineRequest], msgspec.Meta(min_length=1, max_length=ORDER_LINES_CAP)]
    shipping_address: ShippingAddress | None = None


class OrderLine(msgspec.Struct, rename="camel", kw_only=True):
    """A line of a placed order, priced from the catalog."""

    product_id: str
    name: str
    quantity: int
    unit_price: int


class Order(msgspec.Struct, rename="camel", kw_only=True):
    """An order, as stored and as returned."""

    order_id: str
    user_id: str
    status: OrderStatus
    items: list[OrderLine]
    total: int
    currency: str
    created_at: str
    updated_at: str
    version: int
    shipping_address: ShippingAddress | None = None


class ChangeStatus(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of PATCH /orders/{orderId}; ``version`` makes the change conditional on it."""

    status: OrderStatus
    # Bounded: DynamoDB numbers hold 38 digits, and JSON clients read integers exactly to 2**53.
    version: Annotated[int, msgspec.Meta(ge=1, le=2**53 - 1)] | None = None


class OrderQuery(PageQuery, forbid_unknown_fields=True):
    """The query string of GET /orders."""


class OrderPage(msgspec.Struct, rename="camel"):
    """A page of the caller's orders, newest first."""

    items: list[Order]
    next_cursor: str | None


class CatalogPrice(msgspec.Struct, rename="camel"):
    """What an order needs of a catalog product."""

    product_id: str
    name: str
    price: int
    currency: str


class IdempotencyRecord(msgspec.Struct, rename="camel", kw_only=True):
    """Which order an Idempotency-Key created, and a fingerprint of the request that did."""

    order_id: str
    request_hash: str
    created_at: str
