"""The domain events on the bus, as msgspec Structs: publishing them and reading them back."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import msgspec

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_events.type_defs import PutEventsRequestEntryTypeDef


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
    # The newest detail schema this code reads; a consumer refuses newer ones instead of guessing.
    SCHEMA_VERSION: ClassVar[int] = 1

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


class UserRegistered(DomainEvent, frozen=True, kw_only=True):
    """A user confirmed their registration."""

    SOURCE: ClassVar[str] = "serverless-blueprint.auth"
    DETAIL_TYPE: ClassVar[str] = "UserRegistered"

    user_id: str
    email: str
    name: str


class UserDeleted(DomainEvent, frozen=True, kw_only=True):
    """A user deleted their account; their orders are kept as business records."""

    SOURCE: ClassVar[str] = "serverless-blueprint.users"
    DETAIL_TYPE: ClassVar[str] = "UserDeleted"

    user_id: str


class EventPublishError(Exception):
    """EventBridge refused some entries of a PutEvents call."""


async def publish(events: EventBridgeClient, bus_name: str, batch: Sequence[DomainEvent]) -> None:
    """Put events on the bus (PutEvents, at most 10 per call); raises if any entry failed."""
    await put_entries(
        events,
        [
            {
                "EventBusName": bus_name,
                "Source": event.SOURCE,
                "DetailType": event.DETAIL_TYPE,
                "Detail": msgspec.json.encode(event).decode(),
            }
            for event in batch
        ],
    )


async def put_entries(
    events: EventBridgeClient, entries: Sequence[PutEventsRequestEntryTypeDef]
) -> None:
    """PutEvents in calls of at most 10 entries; raises EventPublishError if any entry failed."""
    for start in range(0, len(entries), 10):
        response = await events.put_events(Entries=list(entries[start : start + 10]))
        if response.get("FailedEntryCount", 0):
            failures = [e.get("ErrorCode") for e in response["Entries"] if e.get("ErrorCode")]
            raise EventPublishError(f"EventBridge rejected {len(failures)} events: {failures}")


class BusEnvelope(msgspec.Struct, frozen=True):
    """What EventBridge delivers to a target: its own fields around the published detail."""

    id: str
    source: str
    detail_type: str = msgspec.field(name="detail-type")
    detail: msgspec.Raw = msgspec.Raw(b"{}")
    time: str | None = None


class UnreadableEvent(Exception):
    """A delivered event is not one of the expected types, or not in a schema this code reads."""


def read_bus_event(body: str | bytes, expected: Iterable[type[DomainEvent]]) -> DomainEvent:
    """The domain event in an EventBridge delivery (an SQS body), decoded as its declared Struct.

    UnreadableEvent when it is unexpected, invalid or of a newer schemaVersion: for the DLQ.
    """
    try:
        envelope = msgspec.json.decode(body, type=BusEnvelope)
    except msgspec.DecodeError as error:
        raise UnreadableEvent(f"not an EventBridge event: {error}") from error
    by_type = {(event.SOURCE, event.DETAIL_TYPE): event for event in expected}
    event_type = by_type.get((envelope.source, envelope.detail_type))
    if event_type is None:
        raise UnreadableEvent(f"unexpected event {envelope.source} {envelope.detail_type}")
    try:
        event = msgspec.json.decode(envelope.detail, type=event_type)
    except msgspec.DecodeError as error:
        raise UnreadableEvent(f"invalid {envelope.detail_type} detail: {error}") from error
    if event.schema_version > event_type.SCHEMA_VERSION:
        raise UnreadableEvent(
            f"{envelope.detail_type} schemaVersion {event.schema_version} is newer than "
            f"{event_type.SCHEMA_VERSION}, the newest this code reads"
        )
    return event
