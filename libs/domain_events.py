"""The domain events services publish to the bus, as msgspec Structs, and their publisher."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import msgspec

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient


def utc_now() -> str:
    """The current time as ISO-8601 UTC with milliseconds, e.g. ``2026-01-31T12:00:00.000Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    """A unique event id (consumers deduplicate on it)."""
    return str(uuid.uuid4())


class DomainEvent(msgspec.Struct, kw_only=True, rename="camel", frozen=True):
    """Fields every event's detail carries."""

    SOURCE: ClassVar[str]
    DETAIL_TYPE: ClassVar[str]

    event_id: str = msgspec.field(default_factory=new_event_id)
    schema_version: int = 1
    occurred_at: str = msgspec.field(default_factory=utc_now)
    correlation_id: str | None = None


class OrderLine(msgspec.Struct, rename="camel", frozen=True):
    """A line of an order as events describe it."""

    product_id: str
    quantity: int
    unit_price: int


class OrderCreated(DomainEvent, frozen=True, kw_only=True):
    """An order was placed."""

    SOURCE: ClassVar[str] = "serverless-blueprint.orders"
    DETAIL_TYPE: ClassVar[str] = "OrderCreated"

    order_id: str
    user_id: str
    total: int
    currency: str
    items: tuple[OrderLine, ...]


class OrderStatusChanged(DomainEvent, frozen=True, kw_only=True):
    """An order moved from one status to another."""

    SOURCE: ClassVar[str] = "serverless-blueprint.orders"
    DETAIL_TYPE: ClassVar[str] = "OrderStatusChanged"

    order_id: str
    user_id: str
    previous_status: str
    status: str
    version: int


class EventPublishError(Exception):
    """EventBridge refused some entries of a PutEvents call."""


async def publish(events: EventBridgeClient, bus_name: str, batch: Sequence[DomainEvent]) -> None:
    """Put events on the bus (PutEvents, at most 10 per call); raises if any entry failed."""
    for start in range(0, len(batch), 10):
        chunk = batch[start : start + 10]
        response = await events.put_events(
            Entries=[
                {
                    "EventBusName": bus_name,
                    "Source": event.SOURCE,
                    "DetailType": event.DETAIL_TYPE,
                    "Detail": msgspec.json.encode(event).decode(),
                }
                for event in chunk
            ]
        )
        if response.get("FailedEntryCount", 0):
            failures = [e.get("ErrorCode") for e in response["Entries"] if e.get("ErrorCode")]
            raise EventPublishError(f"EventBridge rejected {len(failures)} events: {failures}")
