"""The local SQS event source mapping against the emulator's SQS: batches, failures, redrive.

A recording stand-in plays the function, so each test controls which messages fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from emulator.event_source_mapping import QueueEventSource
from emulator.function_pool import FunctionError
from emulator.local_system import LocalSystem
from emulator.provision import QueueAddress, create_consumer_queue
from libs.resources.events import ConsumerQueue, DeadLetterQueue

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

pytestmark = pytest.mark.integration


class RecordingConsumer:
    """Records every batch; reports messages whose body starts with "poison" as failed."""

    def __init__(self, *, crash_first_invocation: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self._crash = crash_first_invocation

    async def invoke(self, event: Any) -> Any:
        self.events.append(event)
        if self._crash:
            self._crash = False
            raise FunctionError({"errorType": "RuntimeError", "errorMessage": "crashed"})
        failed = [r["messageId"] for r in event["Records"] if r["body"].startswith("poison")]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    @property
    def bodies(self) -> Counter[str]:
        return Counter(r["body"] for event in self.events for r in event["Records"])


def a_queue(**settings: Any) -> ConsumerQueue:
    name = f"test-esm-{uuid.uuid4().hex[:8]}"
    declared: dict[str, Any] = {
        "max_receive_count": 2,
        "visibility_timeout_seconds": 60,  # provisioning shortens it to the local one (1 s)
        "batch_size": 10,
        "batching_window_seconds": 0,
    } | settings
    return ConsumerQueue(
        logical_id=name,
        name=name,
        consumer="recording",
        dead_letter=DeadLetterQueue(logical_id=f"{name}-dlq", name=f"{name}-dlq"),
        **declared,
    )


Running = Callable[[ConsumerQueue, RecordingConsumer], Awaitable[QueueAddress]]


@pytest.fixture
async def running(stack: LocalSystem, sqs: SQSClient) -> AsyncIterator[Running]:
    """Start an event source mapping for a new queue; stopped and deleted after the test."""
    tasks: list[asyncio.Task[None]] = []
    created: list[QueueAddress] = []

    async def start(queue: ConsumerQueue, consumer: RecordingConsumer) -> QueueAddress:
        address = await create_consumer_queue(sqs, queue)
        created.append(address)
        source = QueueEventSource(queue, address, consumer, sqs, region=stack.outputs.region)
        tasks.append(asyncio.create_task(source.run()))
        return address

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for address in created:
        await sqs.delete_queue(QueueUrl=address.url)
        await sqs.delete_queue(QueueUrl=address.dead_letter_url)


async def depth(sqs: SQSClient, url: str) -> int:
    attributes = (
        await sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for ``condition``, at most ten seconds."""
    for _ in range(100):
        if await condition():
            return
        await asyncio.sleep(0.1)


async def send_batch(sqs: SQSClient, url: str, *bodies: str, **attributes: Any) -> None:
    await sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "MessageBody": body, "MessageAttributes": attributes}
            for i, body in enumerate(bodies)
        ],
    )


async def test_a_failed_message_is_retried_alone_then_dead_lettered(
    sqs: SQSClient, running: Running
) -> None:
    # Given a queue (two receives, then the DLQ) whose consumer fails one message of a batch
    consumer = RecordingConsumer()
    queue = a_queue(max_receive_count=2)
    address = await running(queue, consumer)
    # When three messages arrive together
    await send_batch(sqs, address.url, "ok-1", "poison", "ok-2")

    async def dead_lettered() -> bool:
        return await depth(sqs, address.dead_letter_url) == 1

    await until(dead_lettered)
    # Then the good ones were handled once and deleted, and the bad one ends in the DLQ
    assert await depth(sqs, address.dead_letter_url) == 1
    assert consumer.bodies == {"ok-1": 1, "ok-2": 1, "poison": 2}
    assert await depth(sqs, address.url) == 0
    poisoned = [r for e in consumer.events for r in e["Records"] if r["body"] == "poison"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poisoned] == ["1", "2"]


async def test_a_function_error_returns_the_whole_batch_to_the_queue(
    sqs: SQSClient, running: Running
) -> None:
    # Given a consumer whose first invocation crashes
    consumer = RecordingConsumer(crash_first_invocation=True)
    address = await running(a_queue(max_receive_count=3), consumer)
    # When a batch arrives
    await send_batch(sqs, address.url, "a", "b")

    async def drained() -> bool:
        return sum(consumer.bodies.values()) >= 4 and await depth(sqs, address.url) == 0

    await until(drained)
    # Then every message of the failed batch came again, was handled, and nothing is left
    assert consumer.bodies == {"a": 2, "b": 2}
    assert await depth(sqs, address.url) == 0
    assert await depth(sqs, address.dead_letter_url) == 0


async def test_a_batch_waits_for_the_window_to_fill_but_never_exceeds_its_size(
    sqs: SQSClient, running: Running
) -> None:
    # Given a queue batching up to three messages for up to a second
    consumer = RecordingConsumer()
    address = await running(a_queue(batch_size=3, batching_window_seconds=1), consumer)
    # When one message arrives, then three more a moment later
    await send_batch(sqs, address.url, "first")
    await asyncio.sleep(0.3)
    await send_batch(sqs, address.url, "second", "third", "fourth")

    async def all_handled() -> bool:
        return sum(consumer.bodies.values()) == 4

    await until(all_handled)
    # Then the first batch was filled to its size, and the rest came in the next one
    sizes = [len(event["Records"]) for event in consumer.events]
    assert sizes == [3, 1]


async def test_the_function_receives_lambdas_sqs_event(
    stack: LocalSystem, sqs: SQSClient, running: Running
) -> None:
    consumer = RecordingConsumer()
    address = await running(a_queue(), consumer)
    body = '{"hello": "world"}'
    await send_batch(sqs, address.url, body, trace={"StringValue": "t-1", "DataType": "String"})

    async def invoked() -> bool:
        return bool(consumer.events)

    await until(invoked)
    (record,) = consumer.events[0]["Records"]
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()  # noqa: S324
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == address.arn
    assert record["awsRegion"] == stack.outputs.region
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["trace"]["stringValue"] == "t-1"
    assert record["messageAttributes"]["trace"]["dataType"] == "String"
    assert record["receiptHandle"]
    assert record["messageId"]
