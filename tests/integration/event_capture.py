"""A bus of a test's own, whose rule sends every declared event to a queue the test reads."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from libs.resources.events import EVENTS


class CapturingBus(msgspec.Struct, frozen=True):
    """An event bus ``name`` whose rule delivers every declared event to ``queue_url``."""

    name: str
    queue_url: str


@contextlib.asynccontextmanager
async def capturing_bus(events: Any, sqs: Any, prefix: str) -> AsyncIterator[CapturingBus]:
    """Create the bus, rule and queue; remove them afterwards (the emulator may be shared)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await events.create_event_bus(Name=name)
    queue_url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
    queue_arn = (await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"]))[
        "Attributes"
    ]["QueueArn"]
    pattern = {"source": sorted({event.SOURCE for event in EVENTS})}
    await events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps(pattern))
    await events.put_targets(
        Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    try:
        yield CapturingBus(name=name, queue_url=queue_url)
    finally:
        await events.remove_targets(Rule=name, EventBusName=name, Ids=["queue"])
        await events.delete_rule(Name=name, EventBusName=name)
        await events.delete_event_bus(Name=name)
        await sqs.delete_queue(QueueUrl=queue_url)
