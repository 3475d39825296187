"""The gateway matches routes and builds payload 2.0 events and responses as API Gateway does."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from emulator.gateway import RouteMatch, RouteTable, build_event, http_response
from libs.resources.api_routes import ROUTES, Route

# 12/Mar/2020:19:03:58 +0000, the example in API Gateway's documentation.
NOW = 1584039838.123


@pytest.fixture(scope="module")
def routes() -> RouteTable:
    return RouteTable(ROUTES)


def _match(table: RouteTable, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    found = table.match(method, path)
    return (found.route.route_key, found.path_parameters) if found else None


def test_exact_method_beats_any(routes: RouteTable) -> None:
    assert _match(routes, "GET", "/products") == ("GET /products", {})
    assert _match(routes, "POST", "/products") == ("POST /products", {})


def test_undeclared_method_falls_to_the_paths_any_route(routes: RouteTable) -> None:
    assert _match(routes, "DELETE", "/products") == ("ANY /products", {})
    assert _match(routes, "DELETE", "/orders/o-1") == ("ANY /orders/{orderId}", {"orderId": "o-1"})


def test_path_parameters_are_captured_and_percent_decoded(routes: RouteTable) -> None:
    assert _match(routes, "GET", "/products/usb-c-hub") == (
        "GET /products/{productId}",
        {"productId": "usb-c-hub"},
    )
    assert _match(routes, "GET", "/products/a%20b") == (
        "GET /products/{productId}",
        {"productId": "a b"},
    )


@pytest.mark.parametrize("path", ["/", "/unknown", "/products/a/b", "/productsx", "/orders/"])
def test_unmatched_path_has_no_route(routes: RouteTable, path: str) -> None:
    assert routes.match("GET", path) is None


def test_static_segment_beats_a_parameter_whatever_the_declaration_order() -> None:
    # Given a parameter route declared before a static route of the same shape
    table = RouteTable(
        [
            Route("GET", "/items/{itemId}", "items", "none", "one item"),
            Route("GET", "/items/featured", "items", "none", "featured items"),
            Route("ANY", "/items/{itemId}/{part}", "items", "none", "parts"),
            Route("GET", "/items/featured/{part}", "items", "none", "featured parts"),
        ]
    )
    # When requests hit both shapes, Then the static segment wins where it matches
    assert _match(table, "GET", "/items/featured") == ("GET /items/featured", {})
    assert _match(table, "GET", "/items/i-1") == ("GET /items/{itemId}", {"itemId": "i-1"})
    assert _match(table, "GET", "/items/featured/a") == (
        "GET /items/featured/{part}",
        {"part": "a"},
    )
    # And a more specific path without the method yields to a less specific one that has it
    assert _match(table, "POST", "/items/featured/a") == (
        "ANY /items/{itemId}/{part}",
        {"itemId": "featured", "part": "a"},
    )


def _event(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    request = make_mocked_request(method, path, headers=CIMultiDict(headers))
    found = RouteTable(ROUTES).match(method, request.rel_url.raw_path)
    assert isinstance(found, RouteMatch)
    return build_event(request, body, found, request_id="req-1", authorizer=claims, now=NOW)


def test_event_has_payload_2_0_shape() -> None:
    # Given a GET with repeated headers and query parameters, and cookies
    headers = [
        ("Host", "localhost:3000"),
        ("User-Agent", "pytest"),
        ("X-Custom", "a"),
        ("x-custom", "b"),
        ("Cookie", "session=abc; theme=dark"),
    ]
    # When the gateway turns it into an event
    event = _event("GET", "/orders/o-1?status=new&status=paid&limit=5", headers)
    # Then it has API Gateway's payload 2.0 fields and values
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /orders/{orderId}"
    assert event["rawPath"] == "/orders/o-1"
    assert event["rawQueryString"] == "status=new&status=paid&limit=5"
    assert event["queryStringParameters"] == {"status": "new,paid", "limit": "5"}
    assert event["pathParameters"] == {"orderId": "o-1"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "a,b"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/orders/o-1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["routeKey"] == "GET /orders/{orderId}"
    assert context["stage"] == "$default"
    assert context["requestId"] == "req-1"
    assert context["domainName"] == "localhost:3000"
    assert context["domainPrefix"] == "localhost"
    assert context["time"] == "12/Mar/2020:19:03:58 +0000"
    assert context["timeEpoch"] == 1584039838123
    assert "authorizer" not in context


def test_optional_fields_are_omitted_when_empty() -> None:
    event = _event("GET", "/products", [("Host", "localhost")])
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "cookies" not in event


def test_authorizer_claims_are_passed_in_the_request_context() -> None:
    jwt = {"claims": {"sub": "user-1", "cognito:groups": "[admin]"}, "scopes": None}
    event = _event("GET", "/orders", [("Host", "localhost")], claims=jwt)
    assert event["requestContext"]["authorizer"] == {"jwt": jwt}


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "text/plain"]
)
def test_text_body_is_passed_as_text(content_type: str) -> None:
    body = '{"name": "Füße"}'.encode()
    event = _event("POST", "/orders", [("Content-Type", content_type)], body)
    assert event["body"] == '{"name": "Füße"}'
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b"\x00\x01\x02"),
        ("image/png", b"\x89PNG\r\n"),
        ("application/x-www-form-urlencoded", b"a=1&b=2"),  # API Gateway encodes forms too
        (None, b"no content type"),
        ("application/json", b"\xff\xfe not utf-8"),
    ],
)
def test_non_text_body_is_base64_encoded(content_type: str | None, body: bytes) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = _event("POST", "/orders", headers, body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_result_with_status_code_becomes_that_response() -> None:
    # Given a payload 2.0 result with headers, cookies and a base64 body
    result = {
        "statusCode": 201,
        "headers": {"content-type": "image/png", "x-count": 3},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }
    # When the gateway converts it
    response = http_response(result)
    # Then status, headers, each cookie and the decoded body come through
    assert response.status == 201
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-count"] == "3"
    assert response.headers.getall("set-cookie") == ["a=1; Path=/", "b=2"]
    assert response.body == b"\x89PNG"


def test_result_without_status_code_is_inferred_as_json() -> None:
    response = http_response({"hello": "world"})
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"hello": "world"}
