"""One order followed through the logs: the request's correlation id, user and order reach the
notifications consumer's log lines, through the outbox, the relay, the bus and a queue.

The orders function and the consumer run in containers started for this test, so their output
(their CloudWatch logs in AWS) lands in pytest's captured file descriptors; the outbox relay is
the emulator's, as in every local run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from emulator.event_source_mapping import sqs_event
from emulator.function_pool import FunctionPool
from emulator.provision import function_environment
from libs.domain_events import OrderCreated
from libs.resources.functions import FUNCTIONS
from tests.accounts import SignedInUser
from tests.bus_capture import events_of
from tests.system_under_test import SystemUnderTest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.emulator("runs the orders and consumer functions in containers of its own"),
]


@pytest.fixture
async def functions(stack: SystemUnderTest) -> AsyncIterator[dict[str, FunctionPool]]:
    """The orders function and the notifications consumer, in fresh containers."""
    environment = function_environment(stack.outputs)
    pools = {
        service: FunctionPool(FUNCTIONS[service], environment, function_name=f"{service}-trace")
        for service in ("orders", "notifications-consumer")
    }
    yield pools
    for pool in pools.values():
        pool.close()


def place_order_event(user: SignedInUser, correlation_id: str) -> dict[str, Any]:
    """POST /orders as the gateway hands it over: verified claims, the client's correlation id."""
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    body = {"items": [{"productId": "desk-lamp", "quantity": 1}]}
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "idempotency-key": str(uuid.uuid4()),
            "x-correlation-id": correlation_id,
        },
        "requestContext": {
            "http": {"method": "POST", "path": "/orders", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "POST /orders",
            "stage": "$default",
            "authorizer": {"jwt": {"claims": {k: str(v) for k, v in claims.items()}}},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def log_lines(output: str) -> list[dict[str, Any]]:
    """The JSON log lines in a function's output (EMF metric lines and others left out)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("{") and '"message"' in line:
            lines.append(json.loads(line))
    return lines


async def test_an_orders_notification_is_found_by_the_requests_correlation_id(
    stack: SystemUnderTest,
    alice: SignedInUser,
    functions: dict[str, FunctionPool],
    capfd: pytest.CaptureFixture[str],
) -> None:
    correlation_id = f"trace-{uuid.uuid4().hex[:12]}"
    async with events_of(stack, OrderCreated.SOURCE) as (sqs, queue_url):
        # Given an order placed with a correlation id of the client's
        placed = await functions["orders"].invoke(place_order_event(alice, correlation_id))
        assert placed["statusCode"] == 201, placed
        order_id = json.loads(placed["body"])["orderId"]
        # When its OrderCreated leaves the outbox for the bus, and a queue hands it to the
        # notifications consumer
        message = None
        for _ in range(20):
            received = await sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for candidate in received.get("Messages", []):
                if json.loads(candidate["Body"])["detail"]["orderId"] == order_id:
                    message = candidate
            if message is not None:
                break
        assert message is not None, "OrderCreated never reached the queue"
        attributes = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        event = sqs_event([message], queue_arn, stack.outputs.region)
        handled = await functions["notifications-consumer"].invoke(event)
        assert handled == {"batchItemFailures": []}
    for pool in functions.values():
        pool.close()  # flushes their output
    lines = log_lines("".join(capfd.readouterr()))

    # Then searching the logs for the correlation id finds the request and the consumer's
    # handling of its event, each line naming the user and the order
    traced = [line for line in lines if line.get("correlation_id") == correlation_id]
    by_message = {(line["service"], line["message"]): line for line in traced}
    assert ("orders", "request handled") in by_message
    assert ("notifications-consumer", "event handled") in by_message
    for line in by_message.values():
        assert (line["user_id"], line["order_id"]) == (alice.user_id, order_id), line
    # The stack's own consumer reads the notifications queue too: whichever came first notified,
    # the other found the event done
    handled = by_message["notifications-consumer", "event handled"]
    assert handled["outcome"] in {"notified", "duplicate"}
    if handled["outcome"] == "notified":
        assert ("notifications-consumer", "notification delivered locally") in by_message
