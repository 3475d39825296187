"""The emulator provisions the declared event path: rules, consumer queues and their DLQs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from aiobotocore.session import get_session

from emulator.local_system import LocalSystem
from emulator.provision import create_consumer_queue, local_visibility_timeout
from libs.resources.events import (
    CONSUMER_QUEUES,
    RULES,
    ConsumerQueue,
    DeadLetterQueue,
    EventRule,
    consumer_queue,
)

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def clients(stack: LocalSystem) -> AsyncIterator[tuple[SQSClient, EventBridgeClient]]:
    options: dict[str, Any] = {
        "endpoint_url": stack.endpoint_url,
        "region_name": stack.outputs.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    async with (
        get_session().create_client("sqs", **options) as sqs,
        get_session().create_client("events", **options) as events,
    ):
        yield sqs, events


async def attributes_of(sqs: SQSClient, name: str) -> dict[str, str]:
    url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
    response = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return dict(response["Attributes"].items())


@pytest.mark.parametrize("queue", CONSUMER_QUEUES, ids=lambda q: q.logical_id)
async def test_a_consumer_queue_redrives_to_its_dlq_as_declared(
    clients: tuple[SQSClient, EventBridgeClient], queue: ConsumerQueue
) -> None:
    sqs, _ = clients
    source = await attributes_of(sqs, queue.name)
    dead_letter = await attributes_of(sqs, queue.dead_letter.name)
    assert json.loads(source["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter["QueueArn"],
        "maxReceiveCount": queue.max_receive_count,
    }
    assert source["VisibilityTimeout"] == str(local_visibility_timeout(queue))
    assert source["MessageRetentionPeriod"] == str(queue.retention_days * 86400)
    assert dead_letter["MessageRetentionPeriod"] == str(queue.dead_letter.retention_days * 86400)
    (statement,) = json.loads(source["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.logical_id)
async def test_a_rule_matches_its_events_and_targets_its_queue(
    stack: LocalSystem, clients: tuple[SQSClient, EventBridgeClient], rule: EventRule
) -> None:
    sqs, events = clients
    bus = stack.outputs.event_bus_name
    described = await events.describe_rule(Name=rule.name, EventBusName=bus)
    assert json.loads(described["EventPattern"]) == rule.pattern
    targets = (await events.list_targets_by_rule(Rule=rule.name, EventBusName=bus))["Targets"]
    queue = consumer_queue(rule.target)
    assert [t["Arn"] for t in targets] == [(await attributes_of(sqs, queue.name))["QueueArn"]]
    policy = json.loads((await attributes_of(sqs, queue.name))["Policy"])
    assert described["Arn"] in policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]


async def test_provisioning_a_changed_queue_updates_it_in_place(
    clients: tuple[SQSClient, EventBridgeClient],
) -> None:
    sqs, _ = clients
    name = f"test-provision-{uuid.uuid4().hex[:8]}"
    # Given a consumer queue provisioned from a declaration
    first = ConsumerQueue(
        logical_id=name,
        name=name,
        consumer="nobody",
        dead_letter=DeadLetterQueue(logical_id=f"{name}-dlq", name=f"{name}-dlq"),
        max_receive_count=2,
        visibility_timeout_seconds=60,
        batch_size=10,
        batching_window_seconds=0,
    )
    address = await create_consumer_queue(sqs, first)
    # When the declaration changes and provisioning runs again
    again = await create_consumer_queue(sqs, msgspec.structs.replace(first, max_receive_count=5))
    # Then the same queue now has the new redrive policy
    assert again == address
    redrive = json.loads((await attributes_of(sqs, name))["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    await sqs.delete_queue(QueueUrl=address.url)
    await sqs.delete_queue(QueueUrl=address.dead_letter_url)
