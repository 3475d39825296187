"""Replaying the outbox relay's failed batches (`just dlq replay-relay`) from the table's stream.

Lambda's failure record names a stream range, not its records: the replay reads the range back
from the emulator's stream and publishes to a bus of this test's own, whose rule feeds a queue
the test reads (the stack's own relay publishes the same events to the stack's bus meanwhile).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from aiobotocore.session import get_session

from emulator.local_system import LocalSystem
from libs.domain_events import UserDeleted
from libs.outbox import record_event
from libs.resources.naming import named_failure_queue
from libs.table_keys import OUTBOX_PREFIX, PK, order_key, outbox_key
from ops import dlq
from ops.relay_replay import RELAY_FAILURES, replay_failures
from services.orders import order_table, ordering
from tests.integration.event_capture import CapturingBus, capturing_bus
from tests.integration.order_examples import an_order
from tests.system_under_test import client_options

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator("reads the stream positions of the local outbox relay"),
]


class StreamRange(msgspec.Struct, frozen=True):
    """Outbox records a failed batch held, where they are on the stream, and their event ids."""

    stream_arn: str
    shard_id: str
    records: list[dict[str, Any]]
    event_ids: set[str]


@pytest.fixture
async def bus(relay_aws: dict[str, Any]) -> AsyncIterator[CapturingBus]:
    """A bus and queue per test: what one test published never shows up in another's."""
    async with capturing_bus(relay_aws["events"], relay_aws["sqs"], "replay-test") as captured:
        yield captured


@pytest.fixture
async def failure_queue(stack: LocalSystem, relay_aws: dict[str, Any]) -> AsyncIterator[str]:
    """The URL of the relay's failure queue as the stack provisioned it, emptied after the test."""
    name = named_failure_queue(RELAY_FAILURES, stack.outputs.name_suffix).name
    url: str = (await relay_aws["sqs"].get_queue_url(QueueName=name))["QueueUrl"]
    yield url
    # PurgeQueue is allowed once a minute: receive and delete instead.
    while True:
        response = await relay_aws["sqs"].receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            await relay_aws["sqs"].delete_message(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
            )


async def an_outbox_range(
    stack: LocalSystem, dynamodb: DynamoDBClient, table: str, streams: Any
) -> StreamRange:
    """An order committed with its event, then a recorded event: their outbox records' range."""
    relay = stack.outbox_relay
    assert relay is not None
    before = relay.positions
    order = an_order(str(uuid.uuid4()))
    created = ordering.order_created(order)
    deleted = UserDeleted(user_id=order.user_id)
    await order_table.insert_order(dynamodb, table, order, None, events=[created])
    await record_event(dynamodb, table, deleted)
    partitions = {
        order_key(order.order_id)[PK],
        outbox_key(created.event_id)[PK],
        outbox_key(deleted.event_id)[PK],
    }
    # Exact partition keys, not ids: the stack's own consumer writes items whose keys carry
    # these event ids meanwhile (processed markers, notifications).
    shards = (await streams.describe_stream(StreamArn=relay.stream_arn))["StreamDescription"]
    for shard in shards["Shards"]:
        shard_id = shard["ShardId"]
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": before[shard_id]}
            if shard_id in before
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = await streams.get_shard_iterator(
            StreamArn=relay.stream_arn, ShardId=shard_id, **position
        )
        page = await streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        ours = [r for r in page["Records"] if r["dynamodb"]["Keys"][PK]["S"] in partitions]
        if ours:
            # What the relay's event source mapping hands over: outbox INSERTs only.
            outbox = [r for r in ours if r["dynamodb"]["Keys"][PK]["S"].startswith(OUTBOX_PREFIX)]
            assert len(outbox) == 2
            return StreamRange(
                relay.stream_arn, shard_id, outbox, {created.event_id, deleted.event_id}
            )
    raise AssertionError("the stream holds none of the records just written")


async def send_failure_record(sqs: Any, queue_url: str, stream: StreamRange) -> str:
    """Put Lambda's record of giving up on ``stream``'s batch in the failure queue; its id."""
    body = lambda_failure_record(stream)
    message_id: str = (await sqs.send_message(QueueUrl=queue_url, MessageBody=body))["MessageId"]
    return message_id


def lambda_failure_record(stream: StreamRange) -> str:
    """What Lambda sends the on-failure destination after giving up on ``stream``'s batch."""
    first, last = stream.records[0]["dynamodb"], stream.records[-1]["dynamodb"]

    def arrival(record: dict[str, Any]) -> str:
        created: datetime = record["ApproximateCreationDateTime"]
        return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return json.dumps(
        {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:event-relay:live",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 11,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "1",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": stream.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": len(stream.records),
                "streamArn": stream.stream_arn,
            },
        }
    )


async def waiting_messages(sqs: Any, queue_url: str) -> set[str]:
    """The ids of the messages the queue holds, left visible."""
    response = await sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
    )
    return {m["MessageId"] for m in response.get("Messages", [])}


async def delivered_event_ids(sqs: Any, queue_url: str) -> list[str]:
    """The event id of every delivery the queue holds (a repeat appears twice), consumed."""
    found: list[str] = []
    while True:
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = response.get("Messages", [])
        if not messages:
            return found
        found += [json.loads(m["Body"])["detail"]["eventId"] for m in messages]
        await sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


async def test_a_replay_publishes_each_event_of_the_range_once_and_deletes_the_failure(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    relay_aws: dict[str, Any],
    bus: CapturingBus,
    failure_queue: str,
) -> None:
    # Given two outbox events on the stream, and Lambda's record of giving up on their batch
    stream = await an_outbox_range(stack, dynamodb, table_name, relay_aws["streams"])
    sent = await send_failure_record(relay_aws["sqs"], failure_queue, stream)
    # When the failures are replayed onto the bus
    outcomes = await replay_failures(
        relay_aws["sqs"],
        relay_aws["streams"],
        relay_aws["events"],
        queue_url=failure_queue,
        bus_name=bus.name,
    )
    # Then each event reached the rule's queue exactly once
    assert [(o.message_id, o.verdict, o.events) for o in outcomes] == [(sent, "replayed", 2)]
    assert sorted(await delivered_event_ids(relay_aws["sqs"], bus.queue_url)) == sorted(
        stream.event_ids
    )
    # And the failure message is gone
    assert await waiting_messages(relay_aws["sqs"], failure_queue) == set()


async def test_a_dry_run_publishes_nothing_and_leaves_the_failure(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    relay_aws: dict[str, Any],
    bus: CapturingBus,
    failure_queue: str,
) -> None:
    # Given Lambda's record of giving up on a batch of two outbox events
    stream = await an_outbox_range(stack, dynamodb, table_name, relay_aws["streams"])
    sent = await send_failure_record(relay_aws["sqs"], failure_queue, stream)
    # When a dry run replays the failures
    outcomes = await replay_failures(
        relay_aws["sqs"],
        relay_aws["streams"],
        relay_aws["events"],
        queue_url=failure_queue,
        bus_name=bus.name,
        dry_run=True,
    )
    # Then it read the range and counted its events, but published none
    assert [(o.message_id, o.verdict, o.events) for o in outcomes] == [(sent, "dry run", 2)]
    assert await delivered_event_ids(relay_aws["sqs"], bus.queue_url) == []
    # And the failure message waits, visible, for the real replay
    assert await waiting_messages(relay_aws["sqs"], failure_queue) == {sent}


async def test_the_command_line_lists_a_failure_with_its_range_and_counts_it_waiting(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    relay_aws: dict[str, Any],
    failure_queue: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given Lambda's record of giving up on a batch of two outbox events
    stream = await an_outbox_range(stack, dynamodb, table_name, relay_aws["streams"])
    sent = await send_failure_record(relay_aws["sqs"], failure_queue, stream)
    outputs = ["--outputs", str(stack.outputs_path)]
    # When `just dlq relay-failures` lists the failures
    assert await dlq.main(["relay-failures", *outputs]) == 0
    listed = capsys.readouterr().out
    # Then it shows the failure's shard, sequence range, size and when it failed
    first = stream.records[0]["dynamodb"]["SequenceNumber"]
    last = stream.records[-1]["dynamodb"]["SequenceNumber"]
    assert f"{sent}  shard {stream.shard_id}  sequence numbers {first}..{last}  2 records" in listed
    assert "(RetryAttemptsExhausted)" in listed
    assert "replayable until about" in listed
    # And `just dlq` counts it waiting in the relay's failure queue
    assert await dlq.main(outputs) == 0
    name = named_failure_queue(RELAY_FAILURES, stack.outputs.name_suffix).name
    assert f"{name}: 1 waiting, 0 in flight" in capsys.readouterr().out
    # And a dry run from the command line says what it would publish, and keeps the message
    assert await dlq.main(["replay-relay", "--dry-run", *outputs]) == 0
    assert f"{sent}  shard {stream.shard_id} {first}..{last}: would publish 2 events" in (
        capsys.readouterr().out
    )
    assert await waiting_messages(relay_aws["sqs"], failure_queue) == {sent}


async def test_a_range_no_longer_on_the_stream_leaves_the_failure_and_says_why(
    stack: LocalSystem,
    relay_aws: dict[str, Any],
    bus: CapturingBus,
    failure_queue: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given Lambda's record of a batch on the stream of a table that has since been deleted
    # (as a range is gone once it is older than the stream's 24 hours)
    gone = await a_stream_range_of_a_deleted_table(stack)
    sent = await send_failure_record(relay_aws["sqs"], failure_queue, gone)
    # When the failures are replayed onto the bus
    outcomes = await replay_failures(
        relay_aws["sqs"],
        relay_aws["streams"],
        relay_aws["events"],
        queue_url=failure_queue,
        bus_name=bus.name,
    )
    # Then the range is reported unreadable, nothing is published and the message waits
    assert [(o.message_id, o.verdict) for o in outcomes] == [(sent, "unreadable")]
    assert outcomes[0].reason.startswith("its stream or shard is gone")
    assert await delivered_event_ids(relay_aws["sqs"], bus.queue_url) == []
    assert await waiting_messages(relay_aws["sqs"], failure_queue) == {sent}
    # And `just dlq replay-relay` fails, naming the message and why it stays
    status = await dlq.main(["replay-relay", "--outputs", str(stack.outputs_path)])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{sent}  shard {gone.shard_id}" in out
    assert "unreadable, message left: its stream or shard is gone" in out
    assert await waiting_messages(relay_aws["sqs"], failure_queue) == {sent}


async def a_stream_range_of_a_deleted_table(stack: LocalSystem) -> StreamRange:
    """The stream range of an outbox item written to a table of its own, deleted since."""
    options = client_options(stack)
    name = f"replay-test-{uuid.uuid4().hex[:8]}"
    session = get_session()
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("dynamodbstreams", **options) as streams,
    ):
        table = await dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": PK, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        await dynamodb.get_waiter("table_exists").wait(TableName=name)
        stream_arn = table["TableDescription"]["LatestStreamArn"]
        event = UserDeleted(user_id=str(uuid.uuid4()))
        await dynamodb.put_item(TableName=name, Item={PK: {"S": outbox_key(event.event_id)[PK]}})
        shard_id = (await streams.describe_stream(StreamArn=stream_arn))["StreamDescription"][
            "Shards"
        ][0]["ShardId"]
        iterator = await streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )
        records = (await streams.get_records(ShardIterator=iterator["ShardIterator"]))["Records"]
        await dynamodb.delete_table(TableName=name)
    return StreamRange(stream_arn, shard_id, records, {event.event_id})
