"""moto's streams stay bounded: a shard drops records older than a day and its oldest beyond a
cap, the records it keeps stay readable by sequence number, the outbox relay carries on, and
shard iterators expire."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from emulator.backends import Backend, start_backend
from emulator.event_relay import OutboxRelay
from emulator.moto_memory import StreamBounds, set_stream_bounds
from libs.domain_events import UserDeleted
from libs.outbox import outbox_item
from tests.emulator.conftest import create_streamed_table

if TYPE_CHECKING:
    from moto.dynamodb.models.table import StreamShard
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient

# Small enough to overflow in a few writes; the default (100,000) only bounds a long session.
CAP = 10


@pytest.fixture(scope="module")
def bounded_moto() -> Iterator[Backend]:
    """moto in this process (its shards are read directly), on a port of this module's own."""
    backend = start_backend("moto")
    yield backend
    backend.stop()


@dataclass(frozen=True)
class Clients:
    dynamodb: DynamoDBClient
    streams: Any  # no type stubs are installed for dynamodbstreams
    events: EventBridgeClient
    sqs: SQSClient


@pytest.fixture
async def aws(bounded_moto: Backend) -> AsyncIterator[Clients]:
    options: dict[str, Any] = {
        "endpoint_url": bounded_moto.endpoint_url,
        "region_name": bounded_moto.region,
    }
    session = get_session()
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("dynamodbstreams", **options) as streams,
        session.create_client("events", **options) as events,
        session.create_client("sqs", **options) as sqs,
    ):
        yield Clients(dynamodb, streams, events, sqs)


@dataclass(frozen=True)
class Stream:
    """A table with a stream capped at ``CAP`` records per shard, and that stream's one shard."""

    table: str
    arn: str
    shard_id: str


@pytest.fixture
async def stream(aws: Clients) -> Stream:
    return await bounded_stream(aws, StreamBounds(records=CAP))


async def bounded_stream(aws: Clients, bounds: StreamBounds) -> Stream:
    """A new table whose stream has ``bounds``."""
    # Bounds apply to streams enabled while they are set: only this table gets these.
    previous = set_stream_bounds(bounds)
    try:
        name = await create_streamed_table(aws.dynamodb, "bounded")
    finally:
        set_stream_bounds(previous)
    arn = (await aws.dynamodb.describe_table(TableName=name))["Table"]["LatestStreamArn"]
    description = await aws.streams.describe_stream(StreamArn=arn)
    [shard] = description["StreamDescription"]["Shards"]
    return Stream(name, arn, shard["ShardId"])


async def write(aws: Clients, stream: Stream, *keys: str) -> None:
    """One plain item per key, one write each."""
    for key in keys:
        item = {"PK": {"S": key}, "SK": {"S": "ITEM"}}
        await aws.dynamodb.put_item(TableName=stream.table, Item=item)


async def read(aws: Clients, stream: Stream, **position: str) -> list[dict[str, Any]]:
    """Every record from ``position`` (a ShardIteratorType and perhaps a SequenceNumber) on."""
    iterator = (
        await aws.streams.get_shard_iterator(
            StreamArn=stream.arn, ShardId=stream.shard_id, **position
        )
    )["ShardIterator"]
    records: list[dict[str, Any]] = (
        await aws.streams.get_records(ShardIterator=iterator, Limit=1000)
    )["Records"]
    return records


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["Keys"]["PK"]["S"] for record in records]


def numbers(records: list[dict[str, Any]]) -> list[int]:
    return [int(record["dynamodb"]["SequenceNumber"]) for record in records]


def moto_shard(backend: Backend, stream: Stream) -> StreamShard:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][backend.region].get_table(stream.table)
    assert shard.stream_shard is not None
    return shard.stream_shard


def held_iterators(backend: Backend) -> dict[str, Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    return dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][backend.region].shard_iterators


def trimmed(error: pytest.ExceptionInfo[ClientError]) -> bool:
    return error.value.response["Error"]["Code"] == "TrimmedDataAccessException"


def expired(error: pytest.ExceptionInfo[ClientError]) -> bool:
    return error.value.response["Error"]["Code"] == "ExpiredIteratorException"


async def test_a_shard_over_its_cap_keeps_its_newest_records_under_their_numbers(
    aws: Clients, stream: Stream
) -> None:
    # Given a stream capped at ten records, and the first record's sequence number
    await write(aws, stream, "item-0")
    [first] = numbers(await read(aws, stream, ShardIteratorType="TRIM_HORIZON"))
    # When 25 items are written in all
    await write(aws, stream, *(f"item-{index}" for index in range(1, 25)))
    # Then the oldest fifteen are gone, and TRIM_HORIZON reads the newest ten in order, each
    # under the sequence number it was written with
    kept = await read(aws, stream, ShardIteratorType="TRIM_HORIZON")
    assert keys(kept) == [f"item-{index}" for index in range(15, 25)]
    assert numbers(kept) == [first + index for index in range(15, 25)]
    # And AFTER_SEQUENCE_NUMBER and AT_SEQUENCE_NUMBER find a kept record by its number
    after = await read(
        aws, stream, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=str(first + 21)
    )
    assert keys(after) == ["item-22", "item-23", "item-24"]
    at_oldest = await read(
        aws, stream, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=str(first + 15)
    )
    assert keys(at_oldest) == keys(kept)
    # And the position just before the oldest kept record is still a valid place to start
    just_before = await read(
        aws, stream, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=str(first + 14)
    )
    assert keys(just_before) == keys(kept)


async def test_reading_after_a_dropped_record_is_trimmed_data_access(
    aws: Clients, stream: Stream
) -> None:
    # Given a stream written past its cap, and the number of a record it dropped
    await write(aws, stream, "item-0")
    [dropped] = numbers(await read(aws, stream, ShardIteratorType="TRIM_HORIZON"))
    await write(aws, stream, *(f"item-{index}" for index in range(1, CAP + 5)))
    # When a reader asks for the records after it
    with pytest.raises(ClientError) as error:
        await read(
            aws, stream, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=str(dropped)
        )
    # Then DynamoDB Streams' answer for a position past the trim horizon comes back
    assert trimmed(error), error.value.response


async def test_an_iterator_whose_records_were_dropped_since_is_trimmed_data_access(
    aws: Clients, stream: Stream
) -> None:
    # Given an iterator at TRIM_HORIZON, taken while the stream held its first record
    await write(aws, stream, "item-0")
    iterator = (
        await aws.streams.get_shard_iterator(
            StreamArn=stream.arn, ShardId=stream.shard_id, ShardIteratorType="TRIM_HORIZON"
        )
    )["ShardIterator"]
    # When the stream outgrows its cap before the iterator is used
    await write(aws, stream, *(f"item-{index}" for index in range(1, CAP + 1)))
    # Then reading with it is refused (as AWS refuses an iterator whose records expired), not
    # answered with whatever now sits at that index
    with pytest.raises(ClientError) as error:
        await aws.streams.get_records(ShardIterator=iterator)
    assert trimmed(error), error.value.response


async def test_records_older_than_a_day_leave_the_stream(
    aws: Clients, stream: Stream, bounded_moto: Backend
) -> None:
    # Given five records, the first three written 25 hours ago
    await write(aws, stream, *(f"item-{index}" for index in range(5)))
    for record in moto_shard(bounded_moto, stream).items[:3]:
        record.record["dynamodb"]["ApproximateCreationDateTime"] -= timedelta(hours=25)
    # When the stream is read, with no write since
    kept = await read(aws, stream, ShardIteratorType="TRIM_HORIZON")
    # Then only the records of the last day remain
    assert keys(kept) == ["item-3", "item-4"]
    assert len(moto_shard(bounded_moto, stream).items) == 2


async def test_a_cancelled_transaction_on_a_full_shard_leaves_only_committed_records(
    aws: Clients, stream: Stream
) -> None:
    # Given a shard at its cap
    await write(aws, stream, *(f"item-{index}" for index in range(CAP + 3)))
    before = await read(aws, stream, ShardIteratorType="TRIM_HORIZON")
    # When a transaction writes an item (trimming the shard) and is then cancelled
    taken = {"PK": {"S": "item-0"}, "SK": {"S": "ITEM"}}
    with pytest.raises(ClientError, match="TransactionCanceled"):
        await aws.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": stream.table,
                        "Item": {"PK": {"S": "stray"}, "SK": {"S": "ITEM"}},
                    }
                },
                {
                    "Put": {
                        "TableName": stream.table,
                        "Item": taken,
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    # Then the stream holds no record of it: what remains was all there before
    after = await read(aws, stream, ShardIteratorType="TRIM_HORIZON")
    assert "stray" not in keys(after)
    assert after == before[len(before) - len(after) :]
    # And the next committed write is recorded after them, under a number of its own
    await write(aws, stream, "committed")
    latest = await read(aws, stream, ShardIteratorType="TRIM_HORIZON")
    assert keys(latest)[-1] == "committed"
    assert numbers(latest) == sorted(set(numbers(latest)))


async def event_queue(aws: Clients, bus: str) -> str:
    """A bus, and a queue its rule sends every UserDeleted event to; the queue's URL."""
    await aws.events.create_event_bus(Name=bus)
    url = (await aws.sqs.create_queue(QueueName=bus))["QueueUrl"]
    attributes = await aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    await aws.events.put_rule(
        Name=bus,
        EventBusName=bus,
        EventPattern=json.dumps({"source": [UserDeleted.SOURCE]}),
    )
    await aws.events.put_targets(
        Rule=bus,
        EventBusName=bus,
        Targets=[{"Id": "queue", "Arn": attributes["Attributes"]["QueueArn"]}],
    )
    return url


async def delivered(aws: Clients, queue_url: str) -> list[str]:
    """The event ids the queue received (moto delivers PutEvents to SQS synchronously)."""
    messages = (await aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)).get(
        "Messages", []
    )
    return [json.loads(message["Body"])["detail"]["eventId"] for message in messages]


async def record_event(aws: Clients, stream: Stream) -> UserDeleted:
    event = UserDeleted(user_id=str(uuid.uuid4()))
    await aws.dynamodb.put_item(TableName=stream.table, Item=outbox_item(event))
    return event


async def test_the_outbox_relay_relays_new_writes_on_a_shard_past_its_cap(
    aws: Clients, stream: Stream, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a stream already past its cap, and a relay that has read it to the end
    bus = f"bounded-{uuid.uuid4().hex[:8]}"
    queue_url = await event_queue(aws, bus)
    await write(aws, stream, *(f"item-{index}" for index in range(CAP + 5)))
    relay = OutboxRelay(aws.streams, aws.events, stream_arn=stream.arn, bus_name=bus)
    assert await relay.relay_once() == []
    # When an event is written
    first = await record_event(aws, stream)
    # Then the relay publishes it, reading on after its position in the trimmed shard
    assert [event.event_id for event in await relay.relay_once()] == [first.event_id]
    assert await delivered(aws, queue_url) == [first.event_id]
    # When more than a shard's worth of writes then passes its position by, and another event
    await write(aws, stream, *(f"later-{index}" for index in range(CAP + 5)))
    second = await record_event(aws, stream)
    with caplog.at_level(logging.ERROR, logger="emulator.event_relay"):
        republished = await relay.relay_once()
    # Then it says records were lost, and goes on from the oldest record kept: the new event
    # is published, once
    assert "left the stream before they were relayed" in caplog.text
    assert [event.event_id for event in republished] == [second.event_id]
    assert await delivered(aws, queue_url) == [second.event_id]
    assert await relay.relay_once() == []


async def test_a_shard_iterator_expires_and_moto_lets_go_of_it(
    aws: Clients, bounded_moto: Backend
) -> None:
    # Given a stream whose iterators last half a second (15 minutes by default, as in AWS), and
    # an iterator that has read its record
    short_lived = await bounded_stream(aws, StreamBounds(iterator_lifetime=timedelta(seconds=0.5)))
    await write(aws, short_lived, "item-0")
    iterator = (
        await aws.streams.get_shard_iterator(
            StreamArn=short_lived.arn,
            ShardId=short_lived.shard_id,
            ShardIteratorType="TRIM_HORIZON",
        )
    )["ShardIterator"]
    page = await aws.streams.get_records(ShardIterator=iterator)
    assert keys(page["Records"]) == ["item-0"]
    # When its lifetime passes
    await asyncio.sleep(0.6)
    # Then it, and the next iterator that read gave, are refused as expired
    for old in (iterator, page["NextShardIterator"]):
        with pytest.raises(ClientError) as error:
            await aws.streams.get_records(ShardIterator=old)
        assert expired(error), error.value.response
    # And moto holds neither any more, while a fresh iterator reads the stream
    assert keys(await read(aws, short_lived, ShardIteratorType="TRIM_HORIZON")) == ["item-0"]
    assert iterator not in held_iterators(bounded_moto)
    assert page["NextShardIterator"] not in held_iterators(bounded_moto)
