"""The transactional outbox: events written with the state change they announce, relayed later.

A service adds ``outbox_put(table, event)`` to the TransactWriteItems that changes its state, so
the event exists exactly when the change does; no process can die between the two. The table's
stream carries each new outbox item to a relay (a stream consumer in AWS, the emulator locally)
that turns it into a PutEvents entry: at least once, so consumers deduplicate on ``eventId``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from libs.domain_events import DomainEvent, put_entries
from libs.single_table import Item, kind_attributes
from libs.table_keys import OUTBOX_PREFIX, PK, outbox_key

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import TransactWriteItemTypeDef
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_events.type_defs import PutEventsRequestEntryTypeDef

ENTITY = "OutboxEvent"
# Its lifetime is declared with the table (a day: DynamoDB Streams keep a record 24 hours, after
# which no relay can see the item). TTL deletions reach the stream as REMOVEs, which it ignores.

log = logging.getLogger(__name__)


class OutboxEvent(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """An outbox item's payload: a PutEvents entry waiting for the relay."""

    event_id: str
    source: str
    detail_type: str
    detail: str  # the event as JSON, exactly as it will be published
    occurred_at: str


def outbox_item(event: DomainEvent, *, now: float | None = None) -> Item:
    """The outbox item of ``event``, expiring through the table's TTL."""
    payload = OutboxEvent(
        event_id=event.event_id,
        source=event.SOURCE,
        detail_type=event.DETAIL_TYPE,
        detail=msgspec.json.encode(event).decode(),
        occurred_at=event.occurred_at,
    )
    item: Item = {name: {"S": value} for name, value in outbox_key(event.event_id).items()}
    item.update(kind_attributes(ENTITY, now=now))
    item.update({name: {"S": value} for name, value in msgspec.to_builtins(payload).items()})
    return item


def outbox_put(table: str, event: DomainEvent) -> TransactWriteItemTypeDef:
    """The TransactWriteItems element recording ``event``; add it to the state change's writes.

    Conditional on a new event id: a reused id cancels the transaction, never replaces an event.
    """
    return {
        "Put": {
            "TableName": table,
            "Item": outbox_item(event),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PK},
        }
    }


async def record_event(db: DynamoDBClient, table: str, event: DomainEvent) -> None:
    """Record an event that comes with no state change of its own (e.g. after a Cognito call)."""
    await db.put_item(
        TableName=table,
        Item=outbox_item(event),
        ConditionExpression="attribute_not_exists(#pk)",
        ExpressionAttributeNames={"#pk": PK},
    )


# -- the relay: stream records → PutEvents entries ---------------------------------------------


def outbox_events(records: Iterable[Mapping[str, Any]]) -> list[OutboxEvent]:
    """The outbox events among stream records (as GetRecords or Lambda give them), in order.

    Only INSERTs of outbox items count; one that is malformed can never be published, so it is
    logged and skipped rather than left to block the stream.
    """
    found = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        partition = image.get(PK, {}).get("S", "")
        if record.get("eventName") != "INSERT" or not partition.startswith(OUTBOX_PREFIX):
            continue
        plain = {name: value["S"] for name, value in image.items() if "S" in value}
        try:
            found.append(msgspec.convert(plain, type=OutboxEvent))
        except msgspec.ValidationError as error:
            log.error("skipping malformed outbox item %s: %s", partition, error)
    return found


def put_events_entries(
    events: Iterable[OutboxEvent], bus_name: str
) -> list[PutEventsRequestEntryTypeDef]:
    """PutEvents entries publishing outbox events on ``bus_name``, timed when they occurred."""
    return [
        {
            "EventBusName": bus_name,
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": event.detail,
            "Time": datetime.fromisoformat(event.occurred_at),
        }
        for event in events
    ]


async def relay_records(
    events: EventBridgeClient, bus_name: str, records: Sequence[Mapping[str, Any]]
) -> list[OutboxEvent]:
    """Publish the outbox events among ``records``; what was published, in order.

    On EventPublishError the caller must not move past these records: it sends them again.
    """
    found = outbox_events(records)
    await put_entries(events, put_events_entries(found, bus_name))
    return found
