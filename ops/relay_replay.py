"""Replay the batches the outbox relay gave up on, from the table's stream to the event bus.

When the relay function's retries are exhausted, Lambda sends its failure queue a record of the
batch (``DDBStreamBatchInfo``: stream, shard, first and last sequence number), not the records.
A replay reads that range back from the stream and publishes its outbox events with the relay's
own ``relay_records``; a failure message is deleted only once all of its events are on the bus.
Consumers deduplicate on ``eventId``, so an event published before the batch failed is harmless.
The stream keeps records for 24 hours: an older range cannot be read, and its message stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from libs.domain_events import EventPublishError
from libs.outbox import outbox_events, relay_records
from libs.resources.events import DeadLetterQueue
from libs.resources.functions import FUNCTIONS

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef


def _relay_failures() -> DeadLetterQueue:
    stream = FUNCTIONS["event-relay"].stream
    if stream is None:
        raise LookupError("the event-relay function declares no stream source")
    return stream.failures


# The queue the relay's event source mapping sends its failure records to (as declared).
RELAY_FAILURES: Final = _relay_failures()
# How long DynamoDB Streams keeps a record: a range older than that cannot be replayed.
STREAM_RETENTION: Final = timedelta(hours=24)
# How long a failure message being replayed stays hidden from another reader.
_REPLAY_SECONDS: Final = 300
# How long a listed failure message stays hidden while the listing is read.
_PEEK_SECONDS: Final = 10
# One second of long polling: short polling may answer "empty" while a small queue holds messages.
_WAIT_SECONDS: Final = 1
_BATCH: Final = 10
_RECORDS_PER_READ: Final = 1000
# An open shard answers an iterator past its last record with empty pages: give up after these.
_EMPTY_READS: Final = 5


class StreamBatchInfo(msgspec.Struct, frozen=True, rename="camel"):
    """The stream range of a batch Lambda gave up on (its ``DDBStreamBatchInfo``)."""

    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    stream_arn: str
    batch_size: int = 0
    approximate_arrival_of_first_record: str | None = None
    approximate_arrival_of_last_record: str | None = None


class InvocationContext(msgspec.Struct, frozen=True, rename="camel"):
    """Why Lambda gave up on the batch (``RetryAttemptsExhausted``, ``RecordAgeExceeded``...)."""

    condition: str = ""
    function_arn: str = ""
    approximate_invoke_count: int = 0


class StreamFailureRecord(msgspec.Struct, frozen=True):
    """What Lambda sends the on-failure destination of a DynamoDB stream event source mapping."""

    batch: StreamBatchInfo = msgspec.field(name="DDBStreamBatchInfo")
    request_context: InvocationContext = msgspec.field(
        name="requestContext", default_factory=InvocationContext
    )
    timestamp: str = ""  # when Lambda gave up

    @property
    def readable_until(self) -> datetime | None:
        """When the batch's first record leaves the stream (None: its arrival is unknown)."""
        arrival = self.batch.approximate_arrival_of_first_record
        if not arrival:
            return None
        try:
            return datetime.fromisoformat(arrival) + STREAM_RETENTION
        except ValueError:
            return None


def failure_record(message: MessageTypeDef) -> StreamFailureRecord:
    """The failure record a queue message carries; msgspec.DecodeError when it carries none."""
    return msgspec.json.decode(message["Body"], type=StreamFailureRecord)


class RangeUnreadable(Exception):
    """The stream can no longer give the records of a failure record's range."""


Verdict = Literal["replayed", "dry run", "unreadable", "not published", "not a failure record"]


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What became of one failure message: its verdict, and how much of it was read and sent."""

    message_id: str
    verdict: Verdict
    failure: StreamFailureRecord | None = None
    records_read: int = 0
    events: int = 0  # outbox events published (in a dry run: that would be)
    reason: str = ""  # why the message stays, when it does

    @property
    def deleted(self) -> bool:
        """Whether the failure message left the queue (only once its events were published)."""
        return self.verdict == "replayed"


async def read_range(streams: Any, batch: StreamBatchInfo) -> list[dict[str, Any]]:
    """The stream records from the batch's first to its last sequence number, in order.

    RangeUnreadable when the stream cannot give all of them (aged out, shard or stream gone).
    ``streams``: a dynamodbstreams client (no type stubs are installed for it).
    """
    records: list[dict[str, Any]] = []
    try:
        end = int(batch.end_sequence_number)
        response = await streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start_sequence_number,
        )
        iterator: str | None = response["ShardIterator"]
        empty_reads = 0
        while iterator is not None and empty_reads < _EMPTY_READS:
            page = await streams.get_records(ShardIterator=iterator, Limit=_RECORDS_PER_READ)
            found = page.get("Records", [])
            # Sequence numbers grow along a shard, but not by one: the last one read decides.
            records += [r for r in found if _sequence(r) <= end]
            if found and _sequence(found[-1]) >= end:
                return records
            empty_reads = 0 if found else empty_reads + 1
            iterator = page.get("NextShardIterator")  # None: a closed shard, read to its end
    except ClientError as error:
        raise RangeUnreadable(_unreadable(error)) from error
    except (ParamValidationError, ValueError) as error:
        raise RangeUnreadable(f"the failure record names no readable range: {error}") from error
    raise RangeUnreadable(
        f"the shard gave {len(records)} records but none at or past sequence number {end}"
    )


async def replay_message(
    streams: Any,
    events: EventBridgeClient,
    bus_name: str,
    message: MessageTypeDef,
    *,
    dry_run: bool = False,
) -> ReplayOutcome:
    """Read one failure message's range and publish its outbox events (unless ``dry_run``).

    Deletes nothing: the outcome says whether the message may go.
    """
    message_id = message["MessageId"]
    try:
        failure = failure_record(message)
    except msgspec.DecodeError as error:
        return ReplayOutcome(message_id, "not a failure record", reason=str(error))
    try:
        records = await read_range(streams, failure.batch)
    except RangeUnreadable as unreadable:
        return ReplayOutcome(message_id, "unreadable", failure, reason=str(unreadable))
    if dry_run:
        count = len(outbox_events(records))
        return ReplayOutcome(message_id, "dry run", failure, len(records), count)
    try:
        published = await relay_records(events, bus_name, records)
    except (EventPublishError, ClientError, BotoCoreError) as error:
        # Part of the range may be on the bus already: harmless, the consumers deduplicate.
        return ReplayOutcome(message_id, "not published", failure, len(records), reason=repr(error))
    return ReplayOutcome(message_id, "replayed", failure, len(records), len(published))


async def replay_failures(
    sqs: SQSClient,
    streams: Any,
    events: EventBridgeClient,
    *,
    queue_url: str,
    bus_name: str,
    dry_run: bool = False,
    limit: int | None = None,
) -> list[ReplayOutcome]:
    """Replay up to ``limit`` (default all) failure messages of the queue onto ``bus_name``.

    A message is deleted once its events are published; the others are visible again after.
    """
    outcomes: list[ReplayOutcome] = []
    kept: dict[str, str] = {}  # message id → latest receipt handle of a message that stays
    try:
        while limit is None or len(outcomes) < limit:
            wanted = _BATCH if limit is None else min(_BATCH, limit - len(outcomes))
            batch = await _receive(sqs, queue_url, wanted, _REPLAY_SECONDS)
            if not batch:
                break
            for message in batch:
                if message["MessageId"] in kept:  # back after its hiding ran out: keep it
                    kept[message["MessageId"]] = message["ReceiptHandle"]
                    continue
                outcome = await replay_message(streams, events, bus_name, message, dry_run=dry_run)
                outcomes.append(outcome)
                if outcome.deleted:
                    await sqs.delete_message(
                        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                else:
                    kept[message["MessageId"]] = message["ReceiptHandle"]
    finally:
        await _release(sqs, queue_url, list(kept.values()))
    return outcomes


async def pending_failures(
    sqs: SQSClient, queue_url: str, limit: int | None = None
) -> list[MessageTypeDef]:
    """Up to ``limit`` (default all) failure messages, each once, left in the queue."""
    seen: dict[str, MessageTypeDef] = {}
    try:
        while limit is None or len(seen) < limit:
            wanted = _BATCH if limit is None else min(_BATCH, limit - len(seen))
            batch = [
                m
                for m in await _receive(sqs, queue_url, wanted, _PEEK_SECONDS)
                if m["MessageId"] not in seen
            ]
            if not batch:
                break
            seen.update((m["MessageId"], m) for m in batch)
    finally:
        await _release(sqs, queue_url, [m["ReceiptHandle"] for m in seen.values()])
    return list(seen.values())


def describe_failure(message: MessageTypeDef) -> str:
    """One failure message for a terminal: its range, size, age, and how long it can be replayed."""
    try:
        failure = failure_record(message)
    except msgspec.DecodeError as error:
        return f"{message['MessageId']}  not a stream failure record: {error}"
    batch = failure.batch
    lines = [
        f"{message['MessageId']}  shard {batch.shard_id}  sequence numbers "
        f"{batch.start_sequence_number}..{batch.end_sequence_number}  "
        f"{batch.batch_size} records",
        f"    failed {failure.timestamp or '?'}"
        + (f" ({failure.request_context.condition})" if failure.request_context.condition else "")
        + f"; records arrived {batch.approximate_arrival_of_first_record or '?'}"
        f"..{batch.approximate_arrival_of_last_record or '?'}",
        f"    stream {batch.stream_arn}",
    ]
    until = failure.readable_until
    if until is not None:
        lines.append(f"    replayable until about {until.isoformat()} (the stream keeps 24 h)")
    return "\n".join(lines)


def describe_outcome(outcome: ReplayOutcome) -> str:
    """One replay outcome for a terminal: which range, and what happened to its message."""
    where = ""
    if outcome.failure is not None:
        batch = outcome.failure.batch
        where = (
            f"  shard {batch.shard_id} {batch.start_sequence_number}..{batch.end_sequence_number}"
        )
    head = f"{outcome.message_id}{where}: "
    if outcome.verdict == "replayed":
        return (
            f"{head}published {outcome.events} events from {outcome.records_read} records; "
            "message deleted"
        )
    if outcome.verdict == "dry run":
        return (
            f"{head}would publish {outcome.events} events from {outcome.records_read} records; "
            "message left (dry run)"
        )
    return f"{head}{outcome.verdict}, message left: {outcome.reason}"


def _unreadable(error: ClientError) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "TrimmedDataAccessException":
        return "its records have aged out of the stream (DynamoDB Streams keeps them 24 hours)"
    if code == "ResourceNotFoundException":
        return (
            "its stream or shard is gone (its records aged out of the stream after 24 hours, "
            "or the table's stream was replaced)"
        )
    return f"the stream refused to read it: {error}"


def _sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


async def _receive(
    sqs: SQSClient, url: str, count: int, visibility_seconds: int
) -> list[MessageTypeDef]:
    response = await sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility_seconds,
        WaitTimeSeconds=_WAIT_SECONDS,
        MessageSystemAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


async def _release(sqs: SQSClient, url: str, receipt_handles: Sequence[str]) -> None:
    """Make messages visible again now, not when their hiding runs out."""
    for start in range(0, len(receipt_handles), _BATCH):
        await sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(receipt_handles[start : start + _BATCH])
            ],
        )
