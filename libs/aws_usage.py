"""What a function's AWS calls would be billed for, counted where measured runs turn it on.

With ``MEASURE_AWS_USAGE=1`` (``just load`` sets it for the local stack) every client a
container creates asks DynamoDB for ``ReturnConsumedCapacity=TOTAL`` and adds up, until the next
``take_usage()``: read and write units, PutEvents entries, SQS requests, emails and text messages
sent, and the outbox events written (each one later relayed to the bus). Without the variable no
hook is registered: the functions pay nothing for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from libs.table_keys import OUTBOX_PREFIX, PK

ENV_VARIABLE: Final = "MEASURE_AWS_USAGE"
# DynamoDB operations that read; every other one that reports capacity writes.
_READS: Final = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
# The outbox payload's attribute naming the event (libs.outbox.OutboxEvent, camelCase).
_DETAIL_TYPE: Final = "detailType"


class AwsUsage(msgspec.Struct, kw_only=True):
    """Billable AWS usage of one invocation (or any span of calls)."""

    read_units: float = 0.0
    write_units: float = 0.0
    events_put: int = 0  # PutEvents entries: each one an EventBridge event
    sqs_requests: int = 0
    emails: int = 0
    text_messages: int = 0
    outbox_events: dict[str, int] = msgspec.field(default_factory=dict)  # by detail type
    calls: dict[str, int] = msgspec.field(default_factory=dict)  # "service Operation" → count


_usage = AwsUsage()


def metering() -> bool:
    """Whether this process meters its AWS usage (``MEASURE_AWS_USAGE=1``)."""
    return os.environ.get(ENV_VARIABLE) == "1"


def take_usage() -> AwsUsage:
    """The usage counted since the last call, and a fresh count from now."""
    global _usage
    taken, _usage = _usage, AwsUsage()
    return taken


def count_message(channel: str) -> None:
    """Count one notification a channel sent (or, locally, would have sent)."""
    if channel == "email":
        _usage.emails += 1
    elif channel == "sms":
        _usage.text_messages += 1


def meter(client: Any) -> None:
    """Count the billable usage of every call ``client`` makes (botocore event hooks)."""
    service = client.meta.service_model.service_name
    events = client.meta.events
    if service == "dynamodb":
        events.register("before-parameter-build.dynamodb", _ask_for_capacity)
    events.register(f"after-call.{client.meta.service_model.service_id.hyphenize()}", _counted)


def _ask_for_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    for item in _items_written(model.name, params):
        partition = item.get(PK, {}).get("S", "")
        if partition.startswith(OUTBOX_PREFIX):
            detail_type = item.get(_DETAIL_TYPE, {}).get("S", "unknown")
            _usage.outbox_events[detail_type] = _usage.outbox_events.get(detail_type, 0) + 1


def _items_written(operation: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if operation == "PutItem":
        return [params.get("Item", {})]
    if operation == "TransactWriteItems":
        return [entry["Put"]["Item"] for entry in params.get("TransactItems", ()) if "Put" in entry]
    if operation == "BatchWriteItem":
        return [
            request["PutRequest"]["Item"]
            for requests in params.get("RequestItems", {}).values()
            for request in requests
            if "PutRequest" in request
        ]
    return []


def _counted(parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    key = f"{service} {model.name}"
    _usage.calls[key] = _usage.calls.get(key, 0) + 1
    if service == "dynamodb":
        consumed = parsed.get("ConsumedCapacity") or []
        units = sum(
            entry.get("CapacityUnits", 0.0)
            for entry in (consumed if isinstance(consumed, list) else [consumed])
        )
        if model.name in _READS:
            _usage.read_units += units
        else:
            _usage.write_units += units
    elif service == "events" and model.name == "PutEvents":
        _usage.events_put += len(parsed.get("Entries", ()))
    elif service == "sqs":
        _usage.sqs_requests += 1
    elif service == "sesv2" and model.name == "SendEmail":
        count_message("email")
    elif service == "sns" and model.name == "Publish":
        count_message("sms")
