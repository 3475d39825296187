"""What the local functions used, per route and per event type, for the cost of a request.

A metered container (``MEASURE_AWS_USAGE=1``) reports each invocation's usage with its answer:
the handler's duration and the bytes it wrote to its log, as Lambda's runtime would bill and
ingest them, and its AWS usage (``libs.aws_usage``). The pool adds it here under the route the
event came through, or, for the outbox relay and the queue consumers, under each event type the
batch carried (an even share per record): that part is the cost of publishing one such event,
which the routes that write it to the outbox then carry.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from libs.aws_usage import AwsUsage

EVENT_KEY_PREFIX: Final = "event "
# Lambda's SQS poller: one ReceiveMessage per batch and one DeleteMessageBatch per 10 messages;
# each message was one SendMessage by the bus's rule before that.
_DELETE_BATCH: Final = 10


class InvocationUsage(msgspec.Struct, kw_only=True):
    """One invocation, as a metered container measured it."""

    duration_ms: float
    log_bytes: int
    aws: AwsUsage
    cpu_ms: float = 0.0  # the container's CPU time: what the duration would be with no waiting


class UsageTotals(msgspec.Struct, kw_only=True):
    """Usage added up over invocations (fractional where a batch was shared out)."""

    invocations: float = 0.0
    billed_ms: float = 0.0  # each invocation's duration rounded up to the millisecond
    cpu_ms: float = 0.0
    gb_seconds: float = 0.0  # at the function's declared memory
    log_bytes: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    events_put: float = 0.0
    sqs_requests: float = 0.0
    emails: float = 0.0
    text_messages: float = 0.0
    events_relayed: float = 0.0  # outbox records the relay handled (under an event key)
    events_consumed: float = 0.0  # queue messages a consumer handled (under an event key)
    outbox_events: dict[str, float] = msgspec.field(default_factory=dict)

    def add(self, usage: InvocationUsage, memory_mb: int, share: float = 1.0) -> None:
        """Add ``share`` of one invocation at ``memory_mb``."""
        billed = math.ceil(usage.duration_ms)
        aws = usage.aws
        self.invocations += share
        self.billed_ms += share * billed
        self.cpu_ms += share * usage.cpu_ms
        self.gb_seconds += share * billed / 1000 * memory_mb / 1024
        self.log_bytes += share * usage.log_bytes
        self.read_units += share * aws.read_units
        self.write_units += share * aws.write_units
        self.events_put += share * aws.events_put
        self.sqs_requests += share * aws.sqs_requests
        self.emails += share * aws.emails
        self.text_messages += share * aws.text_messages
        for detail_type, count in aws.outbox_events.items():
            self.outbox_events[detail_type] = self.outbox_events.get(detail_type, 0.0) + (
                share * count
            )

    def minus(self, earlier: UsageTotals) -> UsageTotals:
        """What was added since ``earlier`` (a snapshot of these same totals)."""
        fields = {
            name: getattr(self, name) - getattr(earlier, name)
            for name in self.__struct_fields__
            if name != "outbox_events"
        }
        outbox = {
            detail_type: count - earlier.outbox_events.get(detail_type, 0.0)
            for detail_type, count in self.outbox_events.items()
        }
        return UsageTotals(**fields, outbox_events={k: v for k, v in outbox.items() if v})


def event_key(detail_type: str) -> str:
    """The ledger's key for the cost of publishing one event of ``detail_type``."""
    return f"{EVENT_KEY_PREFIX}{detail_type}"


def usage_keys(event: Mapping[str, Any]) -> list[str]:
    """Where an invocation's usage goes: its route, or one key per record's event type."""
    route = event.get("routeKey")
    if isinstance(route, str):
        return [route]
    records = event.get("Records")
    if not isinstance(records, list):
        return []
    return [event_key(_detail_type(record)) for record in records]


def _detail_type(record: Mapping[str, Any]) -> str:
    if record.get("eventSource") == "aws:sqs":
        try:
            return str(json.loads(record.get("body", ""))["detail-type"])
        except (ValueError, KeyError, TypeError):
            return "unknown"
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return str((image.get("detailType") or {}).get("S", "unknown"))


class UsageLedger:
    """Usage totals by key (route key, or ``event <detail type>``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, UsageTotals] = {}

    def record(self, event: Mapping[str, Any], usage: InvocationUsage, memory_mb: int) -> None:
        """Add one invocation of a function with ``memory_mb``, triggered by ``event``."""
        keys = usage_keys(event)
        if not keys:
            return
        share = 1 / len(keys)
        from_queue = event.get("Records", [{}])[0].get("eventSource") == "aws:sqs"
        from_stream = not from_queue and "routeKey" not in event
        with self._lock:
            for key in keys:
                totals = self._totals.setdefault(key, UsageTotals())
                totals.add(usage, memory_mb, share)
                if from_queue:
                    # The bus's SendMessage for this record, and its share of the poller's
                    # ReceiveMessage and DeleteMessageBatch.
                    totals.sqs_requests += 1 + share * (1 + math.ceil(len(keys) / _DELETE_BATCH))
                    totals.events_consumed += 1
                if from_stream:
                    totals.events_relayed += 1

    def snapshot(self) -> dict[str, UsageTotals]:
        """A copy of every total now."""
        with self._lock:
            return copy.deepcopy(self._totals)

    def since(self, earlier: Mapping[str, UsageTotals]) -> dict[str, UsageTotals]:
        """What was added since the ``earlier`` snapshot, by key."""
        now = self.snapshot()
        return {
            key: totals.minus(earlier[key]) if key in earlier else totals
            for key, totals in now.items()
            if key not in earlier or totals.invocations != earlier[key].invocations
        }


def events_in_flight(usage: Mapping[str, UsageTotals]) -> float:
    """Events written to the outbox and not relayed yet, plus relayed and not consumed yet
    (for the event types a consumer has handled at all)."""
    written = sum(
        sum(totals.outbox_events.values())
        for key, totals in usage.items()
        if not key.startswith(EVENT_KEY_PREFIX)
    )
    events = [totals for key, totals in usage.items() if key.startswith(EVENT_KEY_PREFIX)]
    relayed = sum(totals.events_relayed for totals in events)
    unconsumed = sum(
        max(0.0, totals.events_relayed - totals.events_consumed)
        for totals in events
        if totals.events_consumed > 0
    )
    return max(0.0, written - relayed) + unconsumed


# The process's ledger: every pool of the local stack records here.
LEDGER: Final = UsageLedger()
