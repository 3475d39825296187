"""Orders announce what happened on the event bus: OrderCreated, then OrderStatusChanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import requests

from emulator.local_system import LocalSystem
from libs.domain_events import OrderCreated, OrderStatusChanged
from tests.accounts import SignedInUser
from tests.bus_capture import events_of

pytestmark = pytest.mark.e2e


@pytest.fixture
async def order_events(stack: LocalSystem) -> AsyncIterator[tuple[Any, str]]:
    """A queue receiving every orders event from the bus."""
    async with events_of(stack, OrderCreated.SOURCE) as captured:
        yield captured


async def received(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages += [json.loads(m["Body"]) for m in response.get("Messages", [])]
        if len(messages) >= count:
            break
    return messages


async def test_placing_and_confirming_an_order_publishes_two_events(
    api_url: str, alice: SignedInUser, admin: SignedInUser, order_events: tuple[Any, str]
) -> None:
    sqs, queue_url = order_events
    # Given an order placed by alice with a correlation id
    placed = (
        await asyncio.to_thread(
            requests.post,
            f"{api_url}/orders",
            json={"items": [{"productId": "desk-lamp", "quantity": 1}]},
            headers=alice.headers | {"x-correlation-id": "corr-events-1"},
            timeout=10,
        )
    ).json()
    # When an admin confirms it
    confirmed = await asyncio.to_thread(
        requests.patch,
        f"{api_url}/orders/{placed['orderId']}",
        json={"status": "CONFIRMED"},
        headers=admin.headers,
        timeout=10,
    )
    assert confirmed.status_code == 200
    # Then the bus carried OrderCreated and OrderStatusChanged for it, each with a unique id
    events = [
        e for e in await received(sqs, queue_url, 2) if e["detail"]["orderId"] == placed["orderId"]
    ]
    by_type = {e["detail-type"]: e["detail"] for e in events}
    assert set(by_type) == {OrderCreated.DETAIL_TYPE, OrderStatusChanged.DETAIL_TYPE}
    created = by_type[OrderCreated.DETAIL_TYPE]
    assert created["userId"] == alice.user_id
    assert created["total"] == 5900
    assert created["correlationId"] == "corr-events-1"
    assert created["schemaVersion"] == 1
    changed = by_type[OrderStatusChanged.DETAIL_TYPE]
    assert (changed["previousStatus"], changed["status"], changed["version"]) == (
        "PENDING",
        "CONFIRMED",
        2,
    )
    assert created["eventId"] != changed["eventId"]
