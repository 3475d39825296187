"""The event path's declaration is coherent, and its published JSON Schemas match the Structs."""

from __future__ import annotations

import importlib
import json

import pytest

from libs.event_schemas import SCHEMAS_DIRECTORY, schema_documents
from libs.resources.events import (
    CONSUMER_QUEUES,
    EVENTS,
    RULES,
    ConsumerQueue,
    consumer_queue,
    events_for,
)
from libs.resources.functions import FUNCTIONS


def test_every_rule_targets_a_declared_queue_with_declared_events() -> None:
    for rule in RULES:
        assert consumer_queue(rule.target) in CONSUMER_QUEUES
        assert set(rule.events) <= set(EVENTS)


def test_every_queue_feeds_a_declared_queue_consumer_and_every_consumer_has_a_queue() -> None:
    consumers = {queue.consumer for queue in CONSUMER_QUEUES}
    for consumer in consumers:
        assert FUNCTIONS[consumer].trigger == "sqs"
    assert {name for name, f in FUNCTIONS.items() if f.trigger == "sqs"} == consumers


@pytest.mark.parametrize("queue", CONSUMER_QUEUES, ids=lambda q: q.logical_id)
def test_a_queue_hides_a_message_for_six_times_its_consumers_timeout(
    queue: ConsumerQueue,
) -> None:
    # AWS's advice for SQS event sources: retries of a throttled invocation must not see the
    # batch again while the first attempt may still be running.
    consumer = FUNCTIONS[queue.consumer]
    assert queue.visibility_timeout_seconds >= 6 * consumer.timeout_seconds
    assert queue.max_receive_count >= 1
    assert 1 <= queue.batch_size <= 10_000
    assert queue.batch_size <= 10 or queue.batching_window_seconds > 0  # AWS requires it


def test_a_rules_pattern_names_exactly_its_events() -> None:
    for rule in RULES:
        assert set(rule.pattern) == {"source", "detail-type"}
        assert set(rule.pattern["source"]) == {event.SOURCE for event in rule.events}
        assert set(rule.pattern["detail-type"]) == {event.DETAIL_TYPE for event in rule.events}


def test_detail_types_are_unique() -> None:
    detail_types = [event.DETAIL_TYPE for event in EVENTS]
    assert len(detail_types) == len(set(detail_types))


def test_a_queue_receives_every_event_of_the_rules_targeting_it() -> None:
    (queue,) = CONSUMER_QUEUES
    routed = {event for rule in RULES if rule.target == queue.logical_id for event in rule.events}
    assert set(events_for(queue)) == routed


def test_the_published_schemas_match_the_event_structs() -> None:
    # Run `uv run python -m libs.event_schemas` after changing an event Struct.
    expected = schema_documents()
    published = {path.name: path.read_bytes() for path in SCHEMAS_DIRECTORY.glob("*.json")}
    assert set(published) == set(expected), "docs/events/ has missing or stray schemas"
    for name, content in expected.items():
        assert published[name] == content, f"docs/events/{name} is out of date"


def test_a_schema_names_the_bus_source_and_version_and_requires_every_field() -> None:
    document = json.loads(schema_documents()["OrderStatusChanged.json"])
    assert document["x-source"] == "serverless-blueprint.orders"
    assert document["x-detail-type"] == "OrderStatusChanged"
    assert document["x-schema-version"] == 1
    definition = document["$defs"]["OrderStatusChanged"]
    assert set(definition["required"]) == set(definition["properties"])
    assert {"eventId", "schemaVersion", "occurredAt"} <= set(definition["required"])


def test_every_queue_consumer_has_an_entrypoint() -> None:
    for queue in CONSUMER_QUEUES:
        declaration = FUNCTIONS[queue.consumer]
        module = importlib.import_module(declaration.module)
        assert callable(getattr(module, declaration.attribute))
