"""The outbox relay, locally: reads the table's stream and publishes each outbox event it carries.

In AWS a stream consumer does this with the same ``libs.outbox.relay_records``. The relay keeps,
per shard, the sequence number of the last record it is done with, and moves past a record only
after PutEvents accepted its event: a failure, or a restart from an older position, publishes
again (at least once), never skips. Only records the stream no longer keeps (a relay down for a
day) are lost: it says so, and goes on from the oldest record kept, as Lambda's does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from emulator.usage_ledger import LEDGER, InvocationUsage
from libs.aws_usage import AwsUsage, metering
from libs.domain_events import EventPublishError
from libs.outbox import OutboxEvent, relay_records
from libs.resources.functions import FUNCTIONS
from libs.table_keys import OUTBOX_PREFIX

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient

# Polling backs off while the stream is quiet: quick after a write, cheap when idle (moto keeps
# each iterator, two per read, for the 15 minutes an iterator lives).
FASTEST_POLL_SECONDS: Final = 0.05
SLOWEST_POLL_SECONDS: Final = 0.5
_RECORDS_PER_READ: Final = 1000
# Shards split and close over time (about every four hours in AWS): look for new ones this often.
SHARD_REFRESH_SECONDS: Final = 10.0
# A position older than the stream's oldest record (records are kept 24 hours).
_TRIMMED: Final = "TrimmedDataAccessException"

# What the relay function logs per batch in AWS: its "batch relayed" line and its EMF metric
# (measured on one invocation of services.event_relay.handler; the local relay does not log).
RELAY_LOG_BYTES_PER_BATCH: Final = 700

log = logging.getLogger(__name__)


async def latest_stream_arn(dynamodb: DynamoDBClient, table: str) -> str:
    """The ARN of the table's current stream."""
    description = (await dynamodb.describe_table(TableName=table))["Table"]
    return description["LatestStreamArn"]


class OutboxRelay:
    """Publishes the outbox events on a table's stream to an event bus, at least once."""

    def __init__(
        self,
        streams: Any,  # a dynamodbstreams client (no type stubs are installed for it)
        events: EventBridgeClient,
        *,
        stream_arn: str,
        bus_name: str,
        checkpoint: Mapping[str, str] | None = None,
    ) -> None:
        """``checkpoint``: per shard, the last sequence number relayed before (a saved position,
        as ``positions`` gives it); shards it does not name are read from their oldest record."""
        self.stream_arn = stream_arn
        self.bus_name = bus_name
        self.published = 0
        self._streams = streams
        self._events = events
        self._done_with = dict(checkpoint or {})  # shard id → last sequence number relayed
        self._closed: set[str] = set()  # shards that split and were read to their end
        self._shards: list[str] = []
        self._shards_listed_at = float("-inf")

    @property
    def positions(self) -> dict[str, str]:
        """Per shard, the sequence number of the last record relayed: a checkpoint to resume at."""
        return dict(self._done_with)

    async def run(self) -> None:
        """Relay until the task is cancelled, polling faster while events flow."""
        pause = FASTEST_POLL_SECONDS
        while True:
            try:
                relayed = await self.relay_once()
            except (BotoCoreError, ClientError, EventPublishError) as error:
                log.warning("outbox relay failed, retrying from its last position: %r", error)
                relayed = []
                pause = SLOWEST_POLL_SECONDS
            pause = FASTEST_POLL_SECONDS if relayed else min(pause * 2, SLOWEST_POLL_SECONDS)
            await asyncio.sleep(pause)

    async def relay_once(self) -> list[OutboxEvent]:
        """One read of every shard, publishing the outbox events found; what was published."""
        if time.monotonic() - self._shards_listed_at > SHARD_REFRESH_SECONDS:
            await self._list_shards()
        published: list[OutboxEvent] = []
        for shard_id in self._shards:
            published += await self._relay_shard(shard_id)
        return published

    async def _list_shards(self) -> None:
        shards: list[str] = []
        request = {"StreamArn": self.stream_arn}
        while True:
            description = (await self._streams.describe_stream(**request))["StreamDescription"]
            shards += [shard["ShardId"] for shard in description["Shards"]]
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            request["ExclusiveStartShardId"] = last
        self._shards = shards
        self._shards_listed_at = time.monotonic()

    async def _relay_shard(self, shard_id: str) -> list[OutboxEvent]:
        if shard_id in self._closed:
            return []
        try:
            response = await self._read(shard_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _TRIMMED:
                raise
            if shard_id not in self._done_with:
                raise  # trimmed between taking a TRIM_HORIZON iterator and reading: next poll
            log.error(
                "records of shard %s after %s left the stream before they were relayed; "
                "relaying on from its oldest record",
                shard_id,
                self._done_with.pop(shard_id),
            )
            response = await self._read(shard_id)
        records = response.get("Records", [])
        started = time.perf_counter()
        published = await relay_records(self._events, self.bus_name, records)
        if metering():
            _record_usage(records, len(published), time.perf_counter() - started)
        if records:
            self._done_with[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        elif response.get("NextShardIterator") is None:
            self._closed.add(shard_id)  # a closed shard, read to its end
        self.published += len(published)
        return published

    async def _read(self, shard_id: str) -> dict[str, Any]:
        # A fresh iterator for every read, never the previous read's NextShardIterator: moto
        # restores a deep copy of the table when a transaction is cancelled, and iterators made
        # before that keep reading the discarded copy of the stream.
        iterator = await self._iterator(shard_id)
        response: dict[str, Any] = await self._streams.get_records(
            ShardIterator=iterator, Limit=_RECORDS_PER_READ
        )
        return response

    async def _iterator(self, shard_id: str) -> str:
        if shard_id in self._done_with:
            position = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": self._done_with[shard_id],
            }
        else:
            # The oldest record: an event committed before the relay started is still relayed.
            position = {"ShardIteratorType": "TRIM_HORIZON"}
        response = await self._streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, **position
        )
        iterator: str = response["ShardIterator"]
        return iterator


def _record_usage(records: list[dict[str, Any]], published: int, seconds: float) -> None:
    """Book one read's outbox records as one invocation of the relay function would be."""
    outbox = [
        record
        for record in records
        if record.get("eventName") == "INSERT"
        and record["dynamodb"]["Keys"]["PK"]["S"].startswith(OUTBOX_PREFIX)
    ]
    if not outbox:
        return
    usage = InvocationUsage(
        duration_ms=seconds * 1000,
        log_bytes=RELAY_LOG_BYTES_PER_BATCH,
        aws=AwsUsage(events_put=published),
    )
    LEDGER.record({"Records": outbox}, usage, FUNCTIONS["event-relay"].memory_mb)
