"""The notifications queue end to end: repeated deliveries, a poison message, its DLQ, redrive.

Messages go straight onto the queue, shaped as EventBridge delivers them, and flow through the
local event source mapping to the consumer function in its container.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import msgspec
import pytest

from emulator.local_system import LocalSystem
from libs.domain_events import DomainEvent, OrderStatusChanged
from libs.resources.events import NOTIFICATIONS_QUEUE, ConsumerQueue
from libs.resources.naming import named_queue
from libs.table_keys import as_key, profile_key
from ops import dlq
from tests.polling import eventually, marker_of, notifications_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_sqs import SQSClient

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.emulator("counts deliveries in the local queue poller"),
]


@pytest.fixture(scope="module")
def queue(stack: LocalSystem) -> ConsumerQueue:
    """The notifications queue as this stack names it (apart, on an endpoint others share)."""
    return named_queue(NOTIFICATIONS_QUEUE, stack.outputs.name_suffix)


def delivered_by_eventbridge(event: DomainEvent) -> str:
    """The SQS body a rule target receives for ``event``."""
    return msgspec.json.encode(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event.DETAIL_TYPE,
            "source": event.SOURCE,
            "account": "123456789012",
            "time": event.occurred_at,
            "region": "us-east-1",
            "resources": [],
            "detail": event,
        }
    ).decode()


def shipped(user_id: str) -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=str(uuid.uuid4()),
        user_id=user_id,
        previous_status="CONFIRMED",
        status="SHIPPED",
        version=3,
    )


async def queue_url(sqs: SQSClient, name: str) -> str:
    return (await sqs.get_queue_url(QueueName=name))["QueueUrl"]


async def test_the_same_event_delivered_twice_makes_one_notification(
    sqs: SQSClient, queue: ConsumerQueue, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given an event delivered twice, as at-least-once publishing may do
    user = str(uuid.uuid4())
    event = shipped(user)
    url = await queue_url(sqs, queue.name)
    for _ in range(2):
        await sqs.send_message(QueueUrl=url, MessageBody=delivered_by_eventbridge(event))
    # When the consumer has handled both deliveries
    marker = await eventually(
        lambda: marker_of(dynamodb, table_name, event.event_id),
        lambda m: m is not None and m.duplicates >= 1,
    )
    # Then the user has one notification about it, and the repeat was seen and dropped
    assert marker is not None
    assert marker.duplicates == 1
    found = await notifications_of(dynamodb, table_name, user)
    assert [n.notification_id for n in found] == [event.event_id]


async def test_a_poison_message_is_dead_lettered_alone_and_processed_once_redriven(
    stack: LocalSystem,
    sqs: SQSClient,
    queue: ConsumerQueue,
    dynamodb: DynamoDBClient,
    table_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a user whose profile is malformed (the consumer refuses to guess their preferences)
    # and another user in good order
    broken, healthy = str(uuid.uuid4()), str(uuid.uuid4())
    await dynamodb.put_item(
        TableName=table_name,
        Item={**as_key(profile_key(broken)), "preferences": {"S": "whatever"}},
    )
    poison, good = shipped(broken), [shipped(healthy), shipped(healthy)]
    # When one batch brings an event for each
    url = await queue_url(sqs, queue.name)
    sent = await sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "MessageBody": delivered_by_eventbridge(event)}
            for i, event in enumerate([poison, *good])
        ],
    )
    ids = {int(entry["Id"]): entry["MessageId"] for entry in sent["Successful"]}
    poison_id, good_ids = ids[0], [ids[1], ids[2]]

    async def dead_letters() -> list[str]:
        depth = (await dlq.depths(sqs, [queue]))[0]
        if depth.waiting == 0:
            return []
        return [m["MessageId"] for m in await dlq.peek(sqs, queue, 10)]

    # Then the poison message ends in the DLQ after maxReceiveCount receives
    assert poison_id in await eventually(dead_letters, lambda found: poison_id in found)
    mapping = stack.event_sources[NOTIFICATIONS_QUEUE.logical_id]
    assert mapping.deliveries(poison_id) == NOTIFICATIONS_QUEUE.max_receive_count
    # And the rest of its batch was processed once, each
    assert [mapping.deliveries(message_id) for message_id in good_ids] == [1, 1]
    found = await notifications_of(dynamodb, table_name, healthy)
    assert sorted(n.notification_id for n in found) == sorted(e.event_id for e in good)
    assert await notifications_of(dynamodb, table_name, broken) == []
    # And `just dlq` shows it waiting there
    await dlq.main(["show", NOTIFICATIONS_QUEUE.logical_id, "--outputs", str(stack.outputs_path)])
    assert poison_id in capsys.readouterr().out
    # When the fault is fixed and the DLQ redriven
    await dynamodb.put_item(
        TableName=table_name,
        Item={
            **as_key(profile_key(broken)),
            "preferences": {"M": {"email": {"BOOL": True}, "sms": {"BOOL": False}}},
        },
    )
    await dlq.main(
        ["redrive", NOTIFICATIONS_QUEUE.logical_id, "--outputs", str(stack.outputs_path)]
    )
    assert "moved back" in capsys.readouterr().out
    # Then the event is processed: its notification appears, and the DLQ is empty
    redriven = await eventually(
        lambda: notifications_of(dynamodb, table_name, broken), lambda n: len(n) > 0
    )
    assert [n.notification_id for n in redriven] == [poison.event_id]
    assert poison_id not in await dead_letters()


async def test_dlq_lists_each_dead_letter_queue_with_its_depth(
    stack: LocalSystem, queue: ConsumerQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await dlq.main(["--outputs", str(stack.outputs_path)]) == 0
    out = capsys.readouterr().out
    assert f"{queue.dead_letter.name}: " in out
    assert f"redrives to {queue.name}" in out
