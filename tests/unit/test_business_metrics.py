"""Business metrics: declared once, emitted by name, failures of counted routes counted."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

from libs.http_function import HttpFunction
from libs.json_api import json_response
from libs.problems import NotFound, ServiceUnavailable
from libs.resources import metrics
from libs.resources.api_routes import ROUTES
from libs.resources.functions import FUNCTIONS
from tests.lambda_context import as_lambda_context

ROOT = Path(__file__).resolve().parents[2]
DECLARED = [
    value for value in vars(metrics).values() if isinstance(value, metrics.MetricDeclaration)
]


@dataclass
class Context:
    """The attributes of Lambda's context that Powertools reads."""

    function_name: str = "orders"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "request-1"
    log_group_name: str = "/aws/lambda/orders"
    log_stream_name: str = "stream"


def place_order_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "body": "{}",
        "requestContext": {
            "http": {"method": "POST", "path": "/orders", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": "POST /orders",
            "stage": "$default",
            "authorizer": {"jwt": {"claims": {"sub": "user-1"}, "scopes": None}},
        },
        "isBase64Encoded": False,
    }


def emitted_metrics(output: str) -> dict[str, float]:
    """Metric name → value of every EMF document printed to stdout."""
    found: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found[metric["Name"]] = number(document[metric["Name"]])
    return found


def number(value: float | list[float]) -> float:
    """An EMF value: a number, or a list of them (Powertools writes lists)."""
    return sum(value) if isinstance(value, list) else value


def test_every_declared_metric_belongs_to_a_declared_function() -> None:
    services = {function.service for function in FUNCTIONS.values()}
    assert DECLARED
    for metric in DECLARED:
        assert metric.service in services, metric


def test_every_counted_route_is_a_declared_route_of_the_metrics_service() -> None:
    routes = {route.route_key: route for route in ROUTES}
    for route_key, metric in metrics.FAILURES_OF_ROUTE.items():
        assert routes[route_key].function == metric.service


def test_no_metric_name_is_written_outside_its_declaration() -> None:
    # Given every module the functions run
    literal = re.compile(r"add_metric\(\s*name=\"")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("libs", "services")
        for path in (ROOT / folder).rglob("*.py")
        if literal.search(path.read_text())
    ]
    # Then none names a metric by a string of its own
    assert offenders == []


@pytest.mark.parametrize(
    ("error", "counted"),
    [(ServiceUnavailable("busy"), True), (RuntimeError("bug"), True), (NotFound("x"), False)],
    ids=["503", "500", "404"],
)
def test_a_counted_route_answered_with_a_5xx_adds_a_failure(
    error: Exception, counted: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given POST /orders failing with ``error``
    api = HttpFunction("orders")

    @api.route("POST /orders")
    async def place_order() -> Response[str]:
        raise error

    # When it is invoked
    api.handler(place_order_event(), as_lambda_context(Context()))
    # Then a server-side failure counts as a failed placement, a client's own mistake does not
    found = emitted_metrics(capsys.readouterr().out)
    assert (found.get(metrics.ORDER_PLACEMENTS_FAILED.name) == 1) is counted


def test_a_successful_placement_records_its_value_under_its_currency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given POST /orders that places an order of 4,490 cents
    api = HttpFunction("orders")

    @api.route("POST /orders")
    async def place_order() -> Response[str]:
        api.count(metrics.ORDERS_PLACED)
        api.measure(metrics.ORDER_VALUE, 4490, **{metrics.CURRENCY_DIMENSION: "EUR"})
        return json_response(201, {})

    # When it is invoked
    api.handler(place_order_event(), as_lambda_context(Context()))
    # Then the value is its own data point with the currency as a dimension, and no failure
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    (value,) = [d for d in documents if metrics.ORDER_VALUE.name in d]
    assert number(value[metrics.ORDER_VALUE.name]) == 4490
    assert value[metrics.CURRENCY_DIMENSION] == "EUR"
    assert value["service"] == "orders"
    found = emitted_metrics("\n".join(json.dumps(d) for d in documents))
    assert found[metrics.ORDERS_PLACED.name] == 1
    assert metrics.ORDER_PLACEMENTS_FAILED.name not in found
