"""Order rules: pricing from the catalog, idempotent placement, the status life cycle."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Final

import msgspec

from libs.caller import Caller
from libs.domain_events import OrderCreated, OrderStatusChanged, utc_now
from libs.domain_events import OrderLine as EventLine
from libs.problems import (
    Conflict,
    InvalidParam,
    NotFound,
    OrderingPaused,
    OrderRefused,
    ServiceUnavailable,
)
from libs.resources.feature_flags import OrderFlags
from libs.resources.user_pool import ADMIN_GROUP
from services.orders import order_table
from services.orders.models import (
    ChangeStatus,
    IdempotencyRecord,
    Order,
    OrderLine,
    OrderStatus,
    PlaceOrder,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

# Which status may follow which. CANCELLED and DELIVERED are final.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    "PENDING": frozenset({"CONFIRMED", "CANCELLED"}),
    "CONFIRMED": frozenset({"SHIPPED", "CANCELLED"}),
    "SHIPPED": frozenset({"DELIVERED"}),
    "DELIVERED": frozenset(),
    "CANCELLED": frozenset(),
}
OWNER_MAY_SET: frozenset[OrderStatus] = frozenset({"CANCELLED"})
# The declared defaults, for callers that read no feature flags.
DEFAULT_FLAGS = OrderFlags()
# A pause is an operator's decision that lasts minutes at least, and a container sees the flag
# change only at its next AppConfig poll (every minute by default): no sooner is worth a retry.
ORDERING_PAUSED_RETRY_AFTER_SECONDS: Final = 60
KEY_RACE_RETRY_AFTER_SECONDS: Final = 1


class PlacedOrder(msgspec.Struct, frozen=True):
    """The outcome of placing an order: the order, and whether it was made by an earlier call."""

    order: Order
    replayed: bool


class StatusChange(msgspec.Struct, frozen=True):
    """An order after a status change, and the status it left."""

    order: Order
    previous_status: OrderStatus


def request_fingerprint(request: PlaceOrder) -> str:
    """A hash of what the request asks for, to tell a replay from a reuse of the key."""
    return hashlib.sha256(msgspec.json.encode(request)).hexdigest()


def check_ordering_open(flags: OrderFlags) -> None:
    """503 ``ordering-paused`` with Retry-After when the ``orders.enabled`` flag is off.

    Only placing is paused: existing orders can still be read and cancelled.
    """
    if not flags.enabled:
        raise OrderingPaused(
            "New orders are paused for now; existing orders can still be read and cancelled",
            headers={"Retry-After": str(ORDERING_PAUSED_RETRY_AFTER_SECONDS)},
        )


def check_order_size(request: PlaceOrder, flags: OrderFlags) -> None:
    """422 naming ``items`` when the order has more lines than the feature flag allows now."""
    limit = flags.max_items_per_order
    if len(request.items) > limit:
        raise OrderRefused(
            f"An order may have at most {limit} lines",
            invalid_params=[InvalidParam("items", f"More than {limit} lines")],
        )


async def price_lines(
    db: DynamoDBClient, table: str, request: PlaceOrder
) -> tuple[list[OrderLine], str]:
    """Lines priced from the catalog, and their currency (422 naming each bad line)."""
    problems: list[InvalidParam] = []
    seen: set[str] = set()
    for index, line in enumerate(request.items):
        if line.product_id in seen:
            problems.append(
                InvalidParam(f"items[{index}].productId", "The product is listed twice")
            )
        seen.add(line.product_id)
    prices = await order_table.catalog_prices(db, table, seen)
    for index, line in enumerate(request.items):
        if line.product_id not in prices:
            problems.append(InvalidParam(f"items[{index}].productId", "No such product"))
    currencies = {price.currency for price in prices.values()}
    if len(currencies) > 1:
        problems.append(InvalidParam("items", "Products priced in different currencies"))
    if problems:
        raise OrderRefused("The order cannot be priced", invalid_params=problems)
    lines = [
        OrderLine(
            product_id=line.product_id,
            name=prices[line.product_id].name,
            quantity=line.quantity,
            unit_price=prices[line.product_id].price,
        )
        for line in request.items
    ]
    return lines, currencies.pop()


async def place_order(
    db: DynamoDBClient,
    table: str,
    caller: Caller,
    request: PlaceOrder,
    idempotency_key: str | None,
    correlation_id: str | None = None,
    *,
    flags: OrderFlags = DEFAULT_FLAGS,
) -> PlacedOrder:
    """Price and store a new order with its OrderCreated event; a keyed replay returns the first.

    The event is committed with the order (transactional outbox), so it is published even if
    this process dies right after the write; a replay writes, and so announces, nothing. The
    flags are checked after the replay: an order accepted before a pause or a lower limit is
    still answered to a keyed retry, so its client learns that it exists.
    """
    fingerprint = request_fingerprint(request)
    if idempotency_key is not None:
        replay = await _replay(db, table, caller, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    check_ordering_open(flags)
    check_order_size(request, flags)
    lines, currency = await price_lines(db, table, request)
    now = utc_now()
    order = Order(
        order_id=str(uuid.uuid4()),
        user_id=caller.user_id,
        status="PENDING",
        items=lines,
        total=sum(line.unit_price * line.quantity for line in lines),
        currency=currency,
        shipping_address=request.shipping_address,
        created_at=now,
        updated_at=now,
        version=1,
    )
    record = None
    if idempotency_key is not None:
        record = (
            idempotency_key,
            IdempotencyRecord(order_id=order.order_id, request_hash=fingerprint, created_at=now),
        )
    try:
        await order_table.insert_order(
            db, table, order, record, events=[order_created(order, correlation_id)]
        )
    except order_table.KeyAlreadyUsed:
        # A concurrent request with the same key won the race: answer with its order.
        assert idempotency_key is not None
        replay = await _replay(db, table, caller, idempotency_key, fingerprint)
        if replay is None:
            # The record went between the write and this read (it expired): a retry writes.
            raise ServiceUnavailable(
                "The Idempotency-Key changed hands while the order was written; retry shortly",
                headers={"Retry-After": str(KEY_RACE_RETRY_AFTER_SECONDS)},
            ) from None
        return replay
    return PlacedOrder(order=order, replayed=False)


def order_created(order: Order, correlation_id: str | None = None) -> OrderCreated:
    """The event announcing a new order."""
    return OrderCreated(
        order_id=order.order_id,
        user_id=order.user_id,
        total=order.total,
        currency=order.currency,
        items=tuple(
            EventLine(
                product_id=line.product_id, quantity=line.quantity, unit_price=line.unit_price
            )
            for line in order.items
        ),
        correlation_id=correlation_id,
    )


async def _replay(
    db: DynamoDBClient, table: str, caller: Caller, key: str, fingerprint: str
) -> PlacedOrder | None:
    record = await order_table.idempotency_record(db, table, caller.user_id, key)
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request")
    order = await order_table.get_order(db, table, record.order_id)
    if order is None:  # the record and the order are written together; this cannot happen
        raise Conflict("The order of this Idempotency-Key no longer exists")
    return PlacedOrder(order=order, replayed=True)


async def visible_order(db: DynamoDBClient, table: str, caller: Caller, order_id: str) -> Order:
    """The caller's order; 404 for another user's order exactly as for a missing one."""
    order = await order_table.get_order(db, table, order_id)
    if order is None or order.user_id != caller.user_id:
        raise NotFound(f"No order {order_id}")
    return order


async def change_status(
    db: DynamoDBClient,
    table: str,
    caller: Caller,
    order_id: str,
    change: ChangeStatus,
    correlation_id: str | None = None,
) -> StatusChange:
    """Apply a status transition: owners may cancel, admins may do any legal move (409 if not).

    The OrderStatusChanged event is committed with the change (transactional outbox).
    """
    is_admin = caller.in_group(ADMIN_GROUP)
    order = await order_table.get_order(db, table, order_id)
    if order is None or (order.user_id != caller.user_id and not is_admin):
        raise NotFound(f"No order {order_id}")
    if not is_admin and change.status not in OWNER_MAY_SET:
        raise Conflict(f"An owner may only cancel an order, not set it to {change.status}")
    if change.status not in TRANSITIONS[order.status]:
        raise Conflict(f"An order cannot go from {order.status} to {change.status}")
    expected = change.version if change.version is not None else order.version
    if expected != order.version:
        raise Conflict(f"Order {order_id} is at version {order.version}, not {expected}")
    changed = OrderStatusChanged(
        order_id=order.order_id,
        user_id=order.user_id,
        previous_status=order.status,
        status=change.status,
        version=expected + 1,
        correlation_id=correlation_id,
    )
    updated = await order_table.update_status(
        db,
        table,
        order,
        change.status,
        expected_version=expected,
        now=utc_now(),
        events=[changed],
    )
    return StatusChange(order=updated, previous_status=order.status)
