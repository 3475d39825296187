"""Reading a domain event out of an EventBridge delivery: the right Struct, or a clear refusal."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from libs.domain_events import (
    OrderCreated,
    OrderStatusChanged,
    UnreadableEvent,
    UserDeleted,
    read_bus_event,
)

EXPECTED = (OrderCreated, OrderStatusChanged)


def delivery(source: str, detail_type: str, detail: Any) -> bytes:
    """An SQS body as an EventBridge rule target receives it."""
    return msgspec.json.encode(
        {
            "version": "0",
            "id": "e1",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": "2026-01-31T12:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def a_status_change(**overrides: Any) -> dict[str, Any]:
    event = OrderStatusChanged(
        order_id="o-1", user_id="u-1", previous_status="PENDING", status="CONFIRMED", version=2
    )
    return {**msgspec.to_builtins(event), **overrides}


def test_a_delivered_event_is_decoded_as_its_struct() -> None:
    detail = a_status_change()
    event = read_bus_event(
        delivery(OrderStatusChanged.SOURCE, "OrderStatusChanged", detail), EXPECTED
    )
    assert isinstance(event, OrderStatusChanged)
    assert event.event_id == detail["eventId"]
    assert (event.order_id, event.status, event.version) == ("o-1", "CONFIRMED", 2)


def test_fields_added_by_a_newer_publisher_of_the_same_version_are_ignored() -> None:
    body = delivery(OrderStatusChanged.SOURCE, "OrderStatusChanged", a_status_change(note="x"))
    assert isinstance(read_bus_event(body, EXPECTED), OrderStatusChanged)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not an EventBridge event"),
        (delivery(UserDeleted.SOURCE, "UserDeleted", {"userId": "u"}), "unexpected event"),
        (delivery("someone.else", "OrderStatusChanged", a_status_change()), "unexpected event"),
        (
            delivery(OrderStatusChanged.SOURCE, "OrderStatusChanged", a_status_change(version="2")),
            "invalid OrderStatusChanged detail",
        ),
        (
            delivery(
                OrderStatusChanged.SOURCE, "OrderStatusChanged", a_status_change(schemaVersion=2)
            ),
            "schemaVersion 2 is newer than 1",
        ),
    ],
    ids=["not-json", "not-expected", "wrong-source", "invalid-detail", "newer-schema"],
)
def test_an_event_this_code_cannot_read_is_refused_with_the_reason(
    body: bytes, reason: str
) -> None:
    with pytest.raises(UnreadableEvent, match=reason):
        read_bus_event(body, EXPECTED)
