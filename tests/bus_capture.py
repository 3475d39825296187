"""Every event of one source, captured from the bus into a queue of the test's own."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiobotocore.session import get_session

from tests.system_under_test import SystemUnderTest, client_options

if TYPE_CHECKING:
    pass


@asynccontextmanager
async def events_of(stack: SystemUnderTest, source: str) -> AsyncIterator[tuple[Any, str]]:
    """An SQS queue receiving every event of ``source`` from the bus, through a rule of its own.

    Yields the SQS client and the queue URL; the rule and the queue are removed afterwards.
    """
    name = f"test-{uuid.uuid4().hex[:8]}"
    bus = stack.outputs.event_bus_name
    session = get_session()
    async with (
        session.create_client("sqs", **client_options(stack)) as sqs,
        session.create_client("events", **client_options(stack)) as events,
    ):
        queue_url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
        attributes = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        pattern = json.dumps({"source": [source]})
        rule = await events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
        # AWS delivers to a queue only if its policy lets the rule send (emulators do not check).
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule["RuleArn"]}},
                }
            ],
        }
        await sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)}
        )
        await events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        yield sqs, queue_url
        await events.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
        await events.delete_rule(Name=name, EventBusName=bus)
        await sqs.delete_queue(QueueUrl=queue_url)
