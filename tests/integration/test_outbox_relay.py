"""Fault injection on the outbox: a process dying after its commit, a relay failing or restarting.

Whatever happens between the database and the bus, the consumer ends with exactly one
notification per event (the relay publishes at least once; the consumer drops repeats by id).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import get_session

from emulator.backends import ClientOptions
from emulator.event_relay import OutboxRelay
from emulator.local_system import LocalSystem
from libs.caller import Caller
from libs.domain_events import EventPublishError
from services.orders import order_table, ordering
from services.orders.models import LineRequest, PlaceOrder
from tests.integration.order_examples import an_order
from tests.polling import eventually, marker_of, notifications_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def aws(stack: LocalSystem) -> AsyncIterator[tuple[Any, EventBridgeClient]]:
    """A DynamoDB Streams client and an EventBridge client on the emulator."""
    options: ClientOptions = {
        "endpoint_url": stack.endpoint_url,
        "region_name": stack.outputs.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    async with (
        get_session().create_client("dynamodbstreams", **options) as streams,
        get_session().create_client("events", **options) as events,
    ):
        yield streams, events


async def test_an_order_whose_process_dies_after_the_commit_still_notifies_once(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given an order placed through the domain logic, which commits the order and its event
    caller = Caller(user_id=str(uuid.uuid4()), groups=frozenset())
    request = PlaceOrder(items=[LineRequest(product_id="usb-c-hub", quantity=1)])
    placed = await ordering.place_order(dynamodb, table_name, caller, request, None)
    # When the process dies right after the commit: nothing of it ever calls PutEvents
    # Then the relay publishes the event and the user gets exactly one notification about it
    found = await eventually(
        lambda: notifications_of(dynamodb, table_name, caller.user_id), lambda n: len(n) > 0
    )
    assert [(n.kind, n.order_id) for n in found] == [("OrderCreated", placed.order.order_id)]
    marker = await marker_of(dynamodb, table_name, found[0].notification_id)
    assert marker is not None
    assert marker.duplicates == 0


@pytest.mark.emulator("fault injection on the local outbox relay")
async def test_a_relay_restarted_behind_its_last_publish_sends_again_and_one_notification_remains(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    aws: tuple[Any, EventBridgeClient],
) -> None:
    streams, events = aws
    relay = stack.outbox_relay
    assert relay is not None
    saved = relay.positions  # a checkpoint the relay saved before the event below
    # Given an order and its event, committed, relayed and notified
    order = an_order(str(uuid.uuid4()))
    created = ordering.order_created(order)
    await order_table.insert_order(dynamodb, table_name, order, None, events=[created])
    await eventually(
        lambda: notifications_of(dynamodb, table_name, order.user_id), lambda n: len(n) == 1
    )
    # When the relay restarts from that older checkpoint (it crashed after publishing the
    # event, before saving its new position)
    restarted = OutboxRelay(
        streams,
        events,
        stream_arn=relay.stream_arn,
        bus_name=stack.outputs.event_bus_name,
        checkpoint=saved,
    )
    republished = await restarted.relay_once()
    # Then it publishes the event a second time, the consumer receives it and drops the repeat
    assert created.event_id in [event.event_id for event in republished]
    marker = await eventually(
        lambda: marker_of(dynamodb, table_name, created.event_id),
        lambda m: m is not None and m.duplicates >= 1,
    )
    assert marker is not None
    assert marker.duplicates >= 1
    notifications = await notifications_of(dynamodb, table_name, order.user_id)
    assert [n.notification_id for n in notifications] == [created.event_id]


@pytest.mark.emulator("fault injection on the local outbox relay")
async def test_a_relay_that_cannot_publish_does_not_move_past_the_event(
    stack: LocalSystem,
    dynamodb: DynamoDBClient,
    table_name: str,
    aws: tuple[Any, EventBridgeClient],
) -> None:
    streams, events = aws
    assert stack.outbox_relay is not None
    saved = stack.outbox_relay.positions
    order = an_order(str(uuid.uuid4()))
    created = ordering.order_created(order)
    await order_table.insert_order(dynamodb, table_name, order, None, events=[created])
    # Given a relay, resumed from before the event, whose PutEvents fails (no such bus)
    relay = OutboxRelay(
        streams,
        events,
        stream_arn=stack.outbox_relay.stream_arn,
        bus_name=f"missing-{uuid.uuid4().hex[:8]}",
        checkpoint=saved,
    )
    with pytest.raises((EventPublishError, events.exceptions.ResourceNotFoundException)):
        await relay.relay_once()
    # Then it did not move on
    assert relay.positions == saved
    # When the fault is fixed and it runs again, it publishes the event it could not
    relay.bus_name = stack.outputs.event_bus_name
    published = await relay.relay_once()
    assert created.event_id in [event.event_id for event in published]
    assert relay.positions != saved
