"""The ``orders.enabled`` flag: off, placing an order is a 503 ``ordering-paused`` problem."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from libs.flag_client import FlagClient
from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE, OrderingPaused
from libs.resources.feature_flags import FLAGS_BY_ENVIRONMENT, OrderFlags
from services.orders import handler as orders_function
from services.orders.ordering import DEFAULT_FLAGS, check_ordering_open
from tests.lambda_context import as_lambda_context
from tests.unit.test_flag_client import LOCATION, FakeAppConfigData
from tests.unit.test_origin_check import Context


def test_ordering_is_open_by_default_and_in_every_environment() -> None:
    # Given the declared defaults (no AppConfig, as locally, in the load tests and the bench)
    # and each environment's published values, When an order is checked, Then it may be placed
    check_ordering_open(DEFAULT_FLAGS)
    for environment, flags in FLAGS_BY_ENVIRONMENT.items():
        assert flags.orders.enabled, environment
        check_ordering_open(flags.orders)


def test_a_switched_off_flag_refuses_with_ordering_paused_and_retry_after() -> None:
    # Given the flag switched off, When an order is checked
    with pytest.raises(OrderingPaused) as refused:
        check_ordering_open(OrderFlags(enabled=False))
    # Then it is a 503 of its own stable type, telling the client when to come back
    problem = refused.value.to_problem()
    assert (problem.status, problem.type) == (503, TYPE_BASE + "ordering-paused")
    assert "paused" in (problem.detail or "")
    assert int(refused.value.headers["Retry-After"]) >= 1


def place_order_event() -> dict[str, Any]:
    """A payload 2.0 event of POST /orders from an authenticated caller, without a key."""
    body = {"items": [{"productId": "usb-c-hub", "quantity": 1}]}
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
        "requestContext": {
            "http": {"method": "POST", "path": "/orders", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": "POST /orders",
            "stage": "$default",
            "authorizer": {"jwt": {"claims": {"sub": "user-1"}, "scopes": None}},
        },
        "isBase64Encoded": False,
    }


@pytest.fixture
def switched_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAppConfigData]:
    """The orders function reading AppConfig, which serves ``orders.enabled`` off, and an AWS
    endpoint nothing listens on: any table call would be a 503 ``dependency-unavailable``."""
    content = msgspec.json.encode({"orders": {"enabled": False, "maxItemsPerOrder": 50}})
    appconfig = FakeAppConfigData(content)

    async def connect() -> FakeAppConfigData:
        return appconfig

    monkeypatch.setattr(orders_function, "flags", FlagClient(LOCATION, connect))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    yield appconfig
    # The container's clients were made for that endpoint: none may outlive the test.
    orders_function.api.run(orders_function.api.clients.close())


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_orders_function_answers_a_paused_placement_without_touching_the_table(
    switched_off: FakeAppConfigData,
) -> None:
    # Given the flag switched off in AppConfig (the fixture)
    # When a caller places an order
    written = io.StringIO()
    handler = orders_function.api.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(written)
    try:
        response = orders_function.handler(place_order_event(), as_lambda_context(Context()))
    finally:
        handler.setStream(previous)
    # Then the answer is the 503 ordering-paused problem with Retry-After, read from AppConfig
    assert response["statusCode"] == 503
    assert response["headers"]["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert int(response["headers"]["Retry-After"]) >= 1
    problem = json.loads(response["body"])
    assert problem["type"] == TYPE_BASE + "ordering-paused"
    assert problem["instance"] == "/orders"
    assert switched_off.polls == 1
    # And the log says it was refused as configured, a warning: no fault to page anyone about
    logs = [json.loads(line) for line in written.getvalue().splitlines()]
    refusals = [log for log in logs if log.get("problem") == "ordering-paused"]
    assert [(log["level"], log["message"]) for log in refusals] == [
        ("WARNING", "request refused as configured")
    ]
