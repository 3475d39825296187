"""The asynchronous path, declared once: bus, events, rules, consumer queues and their DLQs.

``service → outbox item → stream relay → bus → rule → queue → consumer function``, with a
dead-letter queue behind every consumer queue. The emulator provisions all of it from here, and
so will the CDK events stack.
"""

from __future__ import annotations

from typing import Any

import msgspec

from libs.domain_events import (
    DomainEvent,
    OrderCreated,
    OrderStatusChanged,
    UserDeleted,
    UserRegistered,
)

# The bus is declared in event_bus.py; it is re-exported so this module holds the whole path.
from libs.resources.event_bus import EVENT_BUS as EVENT_BUS

# Every event a service publishes; each Struct names its source, detail-type and schema version.
EVENTS: tuple[type[DomainEvent], ...] = (
    OrderCreated,
    OrderStatusChanged,
    UserRegistered,
    UserDeleted,
)


class DeadLetterQueue(msgspec.Struct, frozen=True):
    """Where a consumer queue moves a message it received ``max_receive_count`` times."""

    logical_id: str
    name: str
    # The longest SQS allows: time to notice, fix the fault and redrive.
    retention_days: int = 14


class ConsumerQueue(msgspec.Struct, frozen=True):
    """An SQS queue feeding one function in batches, with partial batch responses."""

    logical_id: str
    name: str
    consumer: str  # the key of the consuming function in libs.resources.functions.FUNCTIONS
    dead_letter: DeadLetterQueue
    max_receive_count: int
    # AWS advises at least six times the consumer's timeout, so retries of a throttled
    # invocation do not redeliver a batch that is still being processed.
    visibility_timeout_seconds: int
    batch_size: int
    batching_window_seconds: int
    retention_days: int = 4
    report_batch_item_failures: bool = True


class EventRule(msgspec.Struct, frozen=True):
    """A rule on the bus sending the listed events to a consumer queue."""

    logical_id: str
    name: str
    events: tuple[type[DomainEvent], ...]
    target: str  # the logical id of a ConsumerQueue

    @property
    def pattern(self) -> dict[str, Any]:
        """The EventBridge event pattern matching exactly these events' source and detail-type."""
        return {
            "source": sorted({event.SOURCE for event in self.events}),
            "detail-type": sorted({event.DETAIL_TYPE for event in self.events}),
        }


NOTIFICATIONS_QUEUE = ConsumerQueue(
    logical_id="NotificationsQueue",
    name="serverless-blueprint-notifications",
    consumer="notifications-consumer",
    dead_letter=DeadLetterQueue(
        logical_id="NotificationsDeadLetterQueue", name="serverless-blueprint-notifications-dlq"
    ),
    max_receive_count=3,
    visibility_timeout_seconds=60,
    batch_size=10,
    batching_window_seconds=0,  # a notification should not wait for others to fill a batch
)

CONSUMER_QUEUES: tuple[ConsumerQueue, ...] = (NOTIFICATIONS_QUEUE,)

RULES: tuple[EventRule, ...] = (
    EventRule(
        logical_id="NotificationsRule",
        name="serverless-blueprint-notifications",
        events=(OrderCreated, OrderStatusChanged, UserRegistered, UserDeleted),
        target=NOTIFICATIONS_QUEUE.logical_id,
    ),
)


def consumer_queue(logical_id: str) -> ConsumerQueue:
    """The consumer queue called ``logical_id``."""
    for queue in CONSUMER_QUEUES:
        if queue.logical_id == logical_id:
            return queue
    raise KeyError(logical_id)


def events_for(queue: ConsumerQueue) -> tuple[type[DomainEvent], ...]:
    """Every event the rules route to ``queue``: what its consumer must be able to read."""
    routed = [event for rule in RULES if rule.target == queue.logical_id for event in rule.events]
    return tuple(dict.fromkeys(routed))
