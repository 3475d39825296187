"""Orders function: placing, listing, reading and moving orders through their life cycle."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

import re

from aws_lambda_powertools.event_handler import Response

from libs import json_patterns
from libs.caller import caller_of
from libs.config import settings
from libs.flag_client import FlagClient
from libs.http_function import HttpFunction
from libs.json_api import decode_body, decode_query, json_response
from libs.problems import InvalidParam, NotFound, ValidationFailed
from libs.resources.metrics import CURRENCY_DIMENSION, ORDER_VALUE, ORDERS_PLACED
from services.orders import order_table, ordering
from services.orders.models import ChangeStatus, OrderPage, OrderQuery, PlaceOrder

api = HttpFunction("orders")
app = api.app
flags = FlagClient.from_settings(settings())

_IDEMPOTENCY_KEY = re.compile(json_patterns.IDEMPOTENCY_KEY)
_ORDER_ID = re.compile(r"^[0-9a-f-]{36}$")


def _idempotency_key() -> str | None:
    key = app.current_event.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
            invalid_params=[InvalidParam("header.Idempotency-Key", "Not 1-255 printable ASCII")],
        )
    return key


def _checked_order_id(order_id: str) -> str:
    # Ids this API issues are UUIDs; anything else cannot exist, so skip the read.
    if not _ORDER_ID.match(order_id):
        raise NotFound(f"No order {order_id}")
    return order_id


@api.route("POST /orders")
async def place_order() -> Response[str]:
    caller = caller_of(app.current_event)
    request = decode_body(app.current_event, PlaceOrder)
    key = _idempotency_key()
    db = await api.clients.dynamodb()
    current = await flags.current()
    placed = await ordering.place_order(
        db, settings().table_name, caller, request, key, api.correlation_id, flags=current.orders
    )
    order = placed.order
    api.log_context(order_id=order.order_id)
    headers = {"Location": f"/orders/{order.order_id}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        api.count(ORDERS_PLACED)
        api.measure(ORDER_VALUE, order.total, **{CURRENCY_DIMENSION: order.currency})
    return json_response(201, order, headers)


@api.route("GET /orders")
async def list_orders() -> Response[str]:
    caller = caller_of(app.current_event)
    query = decode_query(app.current_event, OrderQuery)
    db = await api.clients.dynamodb()
    page = await order_table.orders_of_user(
        db, settings().table_name, caller.user_id, limit=query.limit, cursor=query.cursor
    )
    return json_response(200, OrderPage(items=page.items, next_cursor=page.next_cursor))


@api.route("GET /orders/{orderId}")
async def get_order(orderId: str) -> Response[str]:
    caller = caller_of(app.current_event)
    order_id = _checked_order_id(orderId)
    api.log_context(order_id=order_id)
    db = await api.clients.dynamodb()
    order = await ordering.visible_order(db, settings().table_name, caller, order_id)
    return json_response(200, order)


@api.route("PATCH /orders/{orderId}")
async def change_status(orderId: str) -> Response[str]:
    caller = caller_of(app.current_event)
    order_id = _checked_order_id(orderId)
    api.log_context(order_id=order_id)
    change = decode_body(app.current_event, ChangeStatus)
    db = await api.clients.dynamodb()
    result = await ordering.change_status(
        db, settings().table_name, caller, order_id, change, api.correlation_id
    )
    return json_response(200, result.order)


handler = api.handler
