"""The outbox relay function (AWS's stream consumer) on real stream records from the emulator.

Its container gets the records DynamoDB Streams holds for an order and an event, as Lambda would,
and publishes to a bus of this test's own, whose rule feeds a queue the test reads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from emulator.function_pool import FunctionPool
from emulator.local_system import LocalSystem
from emulator.provision import function_environment
from libs import config
from libs.domain_events import UserDeleted, utc_now
from libs.outbox import record_event
from libs.resources.functions import FUNCTIONS
from libs.table_keys import PK, order_key, outbox_key
from services.event_relay.stream_batch import relay_batch
from services.orders import order_table, ordering
from services.orders.models import Order, OrderLine
from tests.integration.event_capture import CapturingBus, capturing_bus

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator("reads the stream positions of the local outbox relay"),
]


@pytest.fixture(scope="module")
async def target(relay_aws: dict[str, Any]) -> AsyncIterator[CapturingBus]:
    async with capturing_bus(relay_aws["events"], relay_aws["sqs"], "relay-test") as bus:
        yield bus


@pytest.fixture(scope="module")
async def relay_function(stack: LocalSystem, target: CapturingBus) -> AsyncIterator[FunctionPool]:
    """The relay function in a container, publishing to the test's bus."""
    environment = function_environment(stack.outputs) | {config.EVENT_BUS_NAME: target.name}
    pool = FunctionPool(FUNCTIONS["event-relay"], environment, function_name="event-relay")
    yield pool
    pool.close()


async def stream_records_about(
    stack: LocalSystem, streams: Any, positions: dict[str, str], partitions: set[str]
) -> list[dict[str, Any]]:
    """The stream's records since ``positions`` of items in ``partitions``, in order.

    Exact partition keys, not ids: the stack's own relay and notifications consumer write items
    whose keys also carry these event ids (processed markers, notifications) meanwhile.
    """
    assert stack.outbox_relay is not None
    arn = stack.outbox_relay.stream_arn
    shards = (await streams.describe_stream(StreamArn=arn))["StreamDescription"]["Shards"]
    found = []
    for shard in shards:
        shard_id = shard["ShardId"]
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": positions[shard_id]}
            if shard_id in positions
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = (await streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position))[
            "ShardIterator"
        ]
        records = (await streams.get_records(ShardIterator=iterator, Limit=1000))["Records"]
        found += [r for r in records if r["dynamodb"]["Keys"][PK]["S"] in partitions]
    # moto can show a record twice once it has restored a table copy after a cancelled
    # transaction (see emulator/event_relay.py); a real stream holds each change once.
    unique: dict[str, dict[str, Any]] = {}
    for record in found:
        change = record["eventName"] + json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
        unique.setdefault(change, record)
    return list(unique.values())


async def an_order_and_a_deletion(
    stack: LocalSystem, dynamodb: DynamoDBClient, table: str, streams: Any
) -> tuple[list[dict[str, Any]], set[str]]:
    """Stream records of a committed order with its event, then of a recorded event; event ids."""
    assert stack.outbox_relay is not None
    before = stack.outbox_relay.positions
    now = utc_now()
    order = Order(
        order_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        status="PENDING",
        items=[OrderLine(product_id="usb-c-hub", name="USB-C hub", quantity=1, unit_price=3450)],
        total=3450,
        currency="EUR",
        created_at=now,
        updated_at=now,
        version=1,
    )
    created = ordering.order_created(order)
    deleted = UserDeleted(user_id=order.user_id)
    await order_table.insert_order(dynamodb, table, order, None, events=[created])
    await record_event(dynamodb, table, deleted)
    partitions = {
        order_key(order.order_id)[PK],
        outbox_key(created.event_id)[PK],
        outbox_key(deleted.event_id)[PK],
    }
    records = await stream_records_about(stack, streams, before, partitions)
    return records, {created.event_id, deleted.event_id}


async def received_event_ids(sqs: Any, queue_url: str) -> list[str]:
    response = await sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["detail"]["eventId"] for m in response.get("Messages", [])]


async def test_the_function_publishes_each_outbox_event_of_a_batch_and_reports_no_failure(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    relay_aws: dict[str, Any],
    target: CapturingBus,
    relay_function: FunctionPool,
) -> None:
    # Given the stream records of an order (its item and its event) and of a recorded event
    records, event_ids = await an_order_and_a_deletion(
        stack, dynamodb, table_name, relay_aws["streams"]
    )
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "INSERT"]
    # When Lambda hands them to the relay function
    response = await relay_function.invoke({"Records": records})
    # Then nothing failed, and exactly the two events (not the order item) reached the bus
    assert response == {"batchItemFailures": []}
    assert sorted(await received_event_ids(relay_aws["sqs"], target.queue_url)) == sorted(event_ids)


async def test_a_batch_that_cannot_be_published_resumes_from_its_first_record(
    stack: LocalSystem, dynamodb: DynamoDBClient, table_name: str, relay_aws: dict[str, Any]
) -> None:
    # Given real stream records, and a bus that does not exist
    records, _ = await an_order_and_a_deletion(stack, dynamodb, table_name, relay_aws["streams"])
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    # When the batch is relayed
    relayed = await relay_batch(relay_aws["events"], missing, records)
    # Then nothing was published and Lambda is told to retry from the first record
    assert relayed.published == 0
    first = records[0]["dynamodb"]["SequenceNumber"]
    assert relayed.batch_response() == {"batchItemFailures": [{"itemIdentifier": first}]}
