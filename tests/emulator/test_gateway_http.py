"""Over HTTP, the gateway answers, authorizes and converts results as API Gateway's HTTP API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from emulator.function_pool import FunctionError, FunctionTimeout
from emulator.gateway import MAX_EVENT_BYTES, MAX_PAYLOAD_BYTES, build_gateway, serve_gateway
from tests.emulator.jwt_signing import Issuer, access_claims


@dataclass
class StubFunction:
    """Records the events it receives and answers with ``result`` (or raises ``error``)."""

    result: Any = field(default_factory=lambda: {"statusCode": 200, "body": "ok"})
    error: FunctionError | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    async def invoke(self, event: Any) -> Any:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class Gateway:
    url: str
    issuer: Issuer
    functions: dict[str, StubFunction]
    http: aiohttp.ClientSession


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    issuer = Issuer()
    functions = {"products": StubFunction(), "orders": StubFunction()}
    runner: web.AppRunner
    runner, port = await serve_gateway(build_gateway(functions, issuer.authorizer()), port=0)
    async with aiohttp.ClientSession() as http:
        yield Gateway(f"http://127.0.0.1:{port}", issuer, functions, http)
    await runner.cleanup()


async def test_unknown_route_is_404_with_api_gateways_message(gateway: Gateway) -> None:
    async with gateway.http.get(f"{gateway.url}/nowhere") as response:
        assert response.status == 404
        assert await response.json() == {"message": "Not Found"}
        assert response.headers["apigw-requestid"]


async def test_protected_route_without_token_is_401_and_function_not_invoked(
    gateway: Gateway,
) -> None:
    # When a protected route is called without a token
    async with gateway.http.get(f"{gateway.url}/orders") as response:
        # Then API Gateway's 401 comes back, and the function never ran
        assert response.status == 401
        assert response.headers["content-type"] == "application/json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert await response.json() == {"message": "Unauthorized"}
    assert gateway.functions["orders"].events == []


async def test_protected_route_with_forged_token_is_401(gateway: Gateway) -> None:
    token = Issuer(kid=gateway.issuer.kid).token(access_claims())
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.http.get(f"{gateway.url}/orders", headers=headers) as response:
        assert response.status == 401
    assert gateway.functions["orders"].events == []


async def test_protected_route_with_valid_token_passes_stringified_claims(
    gateway: Gateway,
) -> None:
    # Given a valid access token of a user in two groups
    headers = {"Authorization": f"Bearer {gateway.issuer.token(access_claims())}"}
    # When it calls a protected route
    async with gateway.http.get(f"{gateway.url}/orders?limit=5", headers=headers) as response:
        assert response.status == 200
    # Then the function receives the claims as API Gateway passes them: all strings
    (event,) = gateway.functions["orders"].events
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["cognito:groups"] == "[admin ops]"
    assert jwt["claims"]["sub"] == "user-1"
    assert all(isinstance(value, str) for value in jwt["claims"].values())
    assert jwt["scopes"] == ["aws.cognito.signin.user.admin"]
    assert event["routeKey"] == "GET /orders"
    assert event["queryStringParameters"] == {"limit": "5"}


async def test_public_route_has_no_authorizer_context(gateway: Gateway) -> None:
    async with gateway.http.get(f"{gateway.url}/products/p-1") as response:
        assert response.status == 200
        assert await response.text() == "ok"
    (event,) = gateway.functions["products"].events
    assert event["pathParameters"] == {"productId": "p-1"}
    assert "authorizer" not in event["requestContext"]
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]


async def test_function_result_becomes_the_http_response(gateway: Gateway) -> None:
    gateway.functions["products"].result = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/octet-stream", "Location": "/products/p-2"},
        "cookies": ["a=1", "b=2"],
        "body": base64.b64encode(b"\x00\xffbinary").decode(),
        "isBase64Encoded": True,
    }
    async with gateway.http.get(f"{gateway.url}/products") as response:
        assert response.status == 201
        assert response.headers["location"] == "/products/p-2"
        assert response.headers.getall("set-cookie") == ["a=1", "b=2"]
        assert await response.read() == b"\x00\xffbinary"


async def test_result_without_status_code_is_200_json(gateway: Gateway) -> None:
    gateway.functions["products"].result = {"items": []}
    async with gateway.http.get(f"{gateway.url}/products") as response:
        assert response.status == 200
        assert await response.json() == {"items": []}


@pytest.mark.parametrize(
    "error",
    [
        FunctionError({"errorType": "ValueError", "errorMessage": "boom", "stackTrace": []}),
        # A Lambda timeout reaches API Gateway as a function error, well within its own 30 s.
        FunctionTimeout({"errorType": "Sandbox.Timedout", "errorMessage": "timed out"}),
    ],
)
async def test_function_failure_is_500(gateway: Gateway, error: FunctionError) -> None:
    gateway.functions["products"].error = error
    async with gateway.http.get(f"{gateway.url}/products") as response:
        assert response.status == 500
        assert await response.json() == {"message": "Internal Server Error"}


async def test_malformed_result_is_500(gateway: Gateway) -> None:
    gateway.functions["products"].result = {"statusCode": "not a number"}
    async with gateway.http.get(f"{gateway.url}/products") as response:
        assert response.status == 500


async def test_payload_over_10_mb_is_413_and_function_not_invoked(gateway: Gateway) -> None:
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)
    headers = {"Authorization": f"Bearer {gateway.issuer.token(access_claims())}"}
    async with gateway.http.post(f"{gateway.url}/orders", data=body, headers=headers) as response:
        assert response.status == 413
        assert await response.json() == {"message": "Request Entity Too Large"}
    assert gateway.functions["orders"].events == []


async def test_payload_of_exactly_10_mb_passes_the_gateway_but_not_lambda(gateway: Gateway) -> None:
    body = b"x" * MAX_PAYLOAD_BYTES
    headers = {"Content-Type": "text/plain"}
    async with gateway.http.put(f"{gateway.url}/products/p-1", data=body) as response:
        assert response.status == 401  # PUT /products/{id} is protected: size passes first
    headers["Authorization"] = f"Bearer {gateway.issuer.token(access_claims())}"
    url = f"{gateway.url}/products/p-1"
    async with gateway.http.put(url, data=body, headers=headers) as response:
        # Lambda's 6 MB invocation limit refuses the event: the function never runs.
        assert response.status == 413
        assert await response.json() == {"message": "Request Too Long"}
    assert gateway.functions["products"].events == []


async def test_payload_just_under_lambdas_limit_reaches_the_function(gateway: Gateway) -> None:
    body = b"x" * (MAX_EVENT_BYTES - 64 * 1024)  # room for the rest of the event
    headers = {
        "Content-Type": "text/plain",
        "Authorization": f"Bearer {gateway.issuer.token(access_claims())}",
    }
    url = f"{gateway.url}/products/p-1"
    async with gateway.http.put(url, data=body, headers=headers) as response:
        assert response.status == 200
    (event,) = gateway.functions["products"].events
    assert len(event["body"]) == len(body)
