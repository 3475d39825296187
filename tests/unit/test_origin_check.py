"""Origin verification: behind CloudFront, requests without its secret header are refused (403)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from botocore.exceptions import EndpointConnectionError

from libs.config import Settings
from libs.http_function import HttpFunction
from libs.json_api import json_response
from libs.origin_check import REREAD_AFTER_SECONDS, OriginCheck
from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from tests.lambda_context import as_lambda_context

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:origin-AbCdEf"


class SecretStore:
    """Secrets Manager's answers for the origin secret, counting the reads."""

    def __init__(self, value: str, previous: str | None = None) -> None:
        self.value = value
        self.previous = previous  # admitted too, as in the hours after a rotation
        self.reads = 0

    async def read(self, secret_id: str) -> tuple[str, ...]:
        assert secret_id == SECRET_ARN
        self.reads += 1
        return (self.value,) if self.previous is None else (self.value, self.previous)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def event(headers: dict[str, str]) -> dict[str, Any]:
    """A payload 2.0 event of GET /orders."""
    return {
        "version": "2.0",
        "routeKey": "GET /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {"method": "GET", "path": "/orders", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": "GET /orders",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


async def test_without_a_configured_secret_every_request_is_admitted() -> None:
    settings = Settings(
        table_name="t",
        event_bus_name="b",
        user_pool_id="p",
        user_pool_client_id="c",
        max_body_bytes=1024,
    )
    check = OriginCheck.from_settings(settings)
    assert check.secret_id is None
    assert await check.refusal(event({}), "corr-1") is None


async def test_the_header_must_carry_the_secret_read_once_per_container() -> None:
    # Given a check behind CloudFront
    store = SecretStore("s3cret")
    check = OriginCheck(SECRET_ARN, store.read, clock=Clock())
    # Then CloudFront's requests pass, and the secret is read only once for all of them
    assert await check.refusal(event({"x-origin-verify": "s3cret"}), "c") is None
    assert await check.refusal(event({"x-origin-verify": "s3cret"}), "c") is None
    assert store.reads == 1
    # And requests without the header, or with another value, are refused
    for headers in ({}, {"x-origin-verify": "guess"}, {"x-origin-verify": "s3cret "}):
        refusal = await check.refusal(event(headers), "corr-1")
        assert refusal is not None
        assert refusal["statusCode"] == 403
        assert refusal["headers"]["Content-Type"] == PROBLEM_CONTENT_TYPE
        problem = json.loads(refusal["body"])
        assert problem["type"] == TYPE_BASE + "forbidden"
        assert problem["correlationId"] == "corr-1"
        assert problem["instance"] == "/orders"


async def test_a_rotated_secret_is_read_again_but_not_on_every_mismatch() -> None:
    # Given a check that read the secret, then the secret rotated
    store = SecretStore("old")
    clock = Clock()
    check = OriginCheck(SECRET_ARN, store.read, clock=clock)
    assert await check.admits({"x-origin-verify": "old"})
    store.value = "new"
    # When the new value arrives soon after: refused, without reading again
    assert not await check.admits({"x-origin-verify": "new"})
    assert store.reads == 1
    # When it arrives once the re-read delay is over: read again and admitted
    clock.now += REREAD_AFTER_SECONDS
    assert await check.admits({"x-origin-verify": "new"})
    assert store.reads == 2
    assert not await check.admits({"x-origin-verify": "old"})


async def test_an_unreadable_secret_answers_503_problem() -> None:
    async def unreachable(secret_id: str) -> tuple[str, ...]:
        raise EndpointConnectionError(endpoint_url="https://secretsmanager")

    check = OriginCheck(SECRET_ARN, unreachable)
    refusal = await check.refusal(event({"x-origin-verify": "x"}), "corr-1")
    assert refusal is not None
    assert refusal["statusCode"] == 503
    assert refusal["headers"]["Retry-After"] == "1"
    assert json.loads(refusal["body"])["type"] == TYPE_BASE + "service-unavailable"


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


def test_an_http_function_behind_cloudfront_refuses_a_direct_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an HTTP function whose environment names the origin secret
    store = SecretStore("s3cret")
    monkeypatch.setattr(
        OriginCheck, "from_settings", classmethod(lambda cls, _: cls(SECRET_ARN, store.read))
    )
    api = HttpFunction("orders")

    @api.route("GET /orders")
    async def list_orders() -> Response[str]:
        return json_response(200, {"items": []})

    # When a request arrives straight from the internet, Then it never reaches the route
    direct = api.handler(event({}), as_lambda_context(Context()))
    assert direct["statusCode"] == 403
    assert direct["headers"]["x-correlation-id"] == "request-1"
    # And CloudFront's request does
    through_cloudfront = api.handler(
        event({"x-origin-verify": "s3cret"}), as_lambda_context(Context())
    )
    assert through_cloudfront["statusCode"] == 200


async def test_during_a_rotation_the_previous_value_is_admitted_beside_the_current() -> None:
    # Given a secret just rotated: CloudFront's edges send either value for a while
    store = SecretStore("new", previous="old")
    check = OriginCheck(SECRET_ARN, store.read, clock=Clock())
    # Then both pass, read once, and anything else is still refused
    assert await check.admits({"x-origin-verify": "new"})
    assert await check.admits({"x-origin-verify": "old"})
    assert not await check.admits({"x-origin-verify": "older"})
    assert store.reads == 1
