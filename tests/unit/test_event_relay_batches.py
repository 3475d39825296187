"""The relay function's batches: outbox records become PutEvents calls; a failure stops them."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any, cast

import pytest

from libs.domain_events import UserDeleted
from libs.outbox import outbox_item
from libs.resources.events import DeadLetterQueue
from libs.resources.functions import FUNCTIONS, FunctionDeclaration, StreamSource
from libs.single_table import Item
from services.event_relay.stream_batch import RECORDS_PER_CALL, relay_batch

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient


class FakeEventBridge:
    """Accepts PutEvents calls, refusing every entry of the calls numbered in ``refuse``."""

    def __init__(self, refuse: frozenset[int] = frozenset()) -> None:
        self.refuse = refuse
        self.calls: list[list[dict[str, Any]]] = []

    async def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if len(self.calls) in self.refuse:
            failed = [{"ErrorCode": "InternalFailure"} for _ in Entries]
            return {"FailedEntryCount": len(Entries), "Entries": failed}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}


def record(sequence: int, image: Item, event_name: str = "INSERT") -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it."""
    return {
        "eventID": f"id-{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": f"{sequence:021d}", "NewImage": image},
    }


def as_client(fake: FakeEventBridge) -> EventBridgeClient:
    """The fake in the SDK client's place: it answers the one call the relay makes."""
    return cast("EventBridgeClient", fake)


def outbox_records(count: int) -> list[dict[str, Any]]:
    return [record(n, outbox_item(UserDeleted(user_id=f"u-{n}"))) for n in range(1, count + 1)]


async def test_every_outbox_event_is_published_in_order_and_nothing_is_reported() -> None:
    # Given a batch of 25 outbox records and an order item's record among them
    records = outbox_records(25)
    records.insert(3, record(99, {"PK": {"S": "ORDER#o-1"}, "SK": {"S": "DETAILS"}}))
    events = FakeEventBridge()
    # When it is relayed
    relayed = await relay_batch(as_client(events), "bus", records)
    # Then the 25 events went out in calls of at most ten, in stream order
    assert relayed.published == 25
    assert relayed.batch_response() == {"batchItemFailures": []}
    assert all(len(call) <= RECORDS_PER_CALL for call in events.calls)
    users = [json.loads(e["Detail"])["userId"] for call in events.calls for e in call]
    assert users == [f"u-{n}" for n in range(1, 26)]


async def test_a_refused_call_stops_the_batch_and_reports_its_first_record() -> None:
    # Given a batch of 25 records whose second PutEvents call is refused
    records = outbox_records(25)
    events = FakeEventBridge(refuse=frozenset({2}))
    # When it is relayed
    relayed = await relay_batch(as_client(events), "bus", records)
    # Then the first ten were published, the batch stopped, and Lambda resumes at the 11th
    assert relayed.published == RECORDS_PER_CALL
    assert len(events.calls) == 2
    eleventh = records[RECORDS_PER_CALL]["dynamodb"]["SequenceNumber"]
    assert relayed.batch_response() == {"batchItemFailures": [{"itemIdentifier": eleventh}]}


async def test_an_empty_batch_publishes_nothing() -> None:
    events = FakeEventBridge()
    relayed = await relay_batch(as_client(events), "bus", [])
    assert relayed.batch_response() == {"batchItemFailures": []}
    assert events.calls == []


def test_the_relay_is_declared_as_the_tables_stream_consumer_of_outbox_inserts() -> None:
    relay = FUNCTIONS["event-relay"]
    assert relay.trigger == "stream"
    assert relay.stream is not None
    assert (relay.stream.event_name, relay.stream.partition_prefix) == ("INSERT", "OUTBOX#")
    assert relay.actions_on("events") == ("events:PutEvents",)
    assert [f.service for f in FUNCTIONS.values() if f.trigger == "stream"] == ["event-relay"]
    assert callable(getattr(importlib.import_module(relay.module), relay.attribute))


def test_a_stream_trigger_without_a_stream_source_is_refused() -> None:
    with pytest.raises(ValueError, match="stream"):
        FunctionDeclaration(service="x", handler="services.x.handler.handler", trigger="stream")
    source = StreamSource(
        event_name="INSERT",
        partition_prefix="X#",
        batch_size=1,
        batching_window_seconds=0,
        retry_attempts=1,
        failures=DeadLetterQueue(logical_id="XFailures", name="x-failures"),
    )
    with pytest.raises(ValueError, match="stream"):
        FunctionDeclaration(service="x", handler="services.x.handler.handler", stream=source)
