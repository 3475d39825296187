"""Passwords and tokens never reach the auth function's output (its CloudWatch log in AWS).

The function runs in a container started for this test, so everything it writes to stdout and
stderr (logs, EMF metrics, tracebacks) lands in pytest's captured file descriptors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import msgspec
import pytest

from emulator.function_pool import FunctionPool
from emulator.local_system import LocalSystem
from emulator.provision import function_environment
from libs.resources.functions import FUNCTIONS
from tests.accounts import AccountEmails, account_email

pytestmark = [
    pytest.mark.integration,
    pytest.mark.moto("confirms and resets with made-up codes, which moto accepts"),
]

PASSWORD = "Correct-Horse-7"
NEW_PASSWORD = "Battery-Staple-9"
WRONG_PASSWORD = "Wrong-Horse-7"
WEAK_PASSWORD = "weakpass1"


def http_event(route_key: str, body: Any = None, access_token: str | None = None) -> dict[str, Any]:
    """A payload 2.0 event as the gateway builds it, verified claims included."""
    method, path = route_key.split(" ", 1)
    headers = {"content-type": "application/json", "user-agent": "test"}
    context: dict[str, Any] = {
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": "$default",
    }
    if access_token is not None:
        headers["authorization"] = f"Bearer {access_token}"
        claims = jwt.decode(access_token, options={"verify_signature": False})
        context["authorizer"] = {"jwt": {"claims": {k: str(v) for k, v in claims.items()}}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = msgspec.json.encode(body).decode()
    return event


@pytest.fixture
async def auth_function(stack: LocalSystem) -> AsyncIterator[FunctionPool]:
    """The auth function in a fresh container, whose stdout and stderr the test captures."""
    pool = FunctionPool(
        FUNCTIONS["auth"], function_environment(stack.outputs), function_name="auth-logs"
    )
    yield pool
    pool.close()


async def test_no_password_or_token_appears_in_the_functions_output(
    auth_function: FunctionPool, capfd: pytest.CaptureFixture[str], account_emails: AccountEmails
) -> None:
    calls = 0
    secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, WEAK_PASSWORD]

    async def call(
        route_key: str, body: Any = None, access_token: str | None = None
    ) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        result: dict[str, Any] = await auth_function.invoke(
            http_event(route_key, body, access_token)
        )
        return result

    def tokens_of(result: dict[str, Any]) -> dict[str, Any]:
        assert result["statusCode"] == 200, result
        tokens: dict[str, Any] = msgspec.json.decode(result["body"])
        secrets.extend(v for k, v in tokens.items() if k.endswith("Token"))
        return tokens

    # Given an account taken through every route, successes and failures alike
    email = account_emails.new("logs")
    account = {"email": email, "password": PASSWORD, "name": "Ada"}
    assert (await call("POST /auth/register", account))["statusCode"] == 201
    assert (await call("POST /auth/register", account))["statusCode"] == 409
    weak = account | {"email": account_emails.new("weak"), "password": WEAK_PASSWORD}
    assert (await call("POST /auth/register", weak))["statusCode"] == 422
    assert (await call("POST /auth/confirm", {"email": email, "code": "1"}))["statusCode"] == 204
    unknown_email = account_email("nobody")
    for wrong in (
        {"email": email, "password": WRONG_PASSWORD},
        {"email": unknown_email, "password": PASSWORD},
    ):
        assert (await call("POST /auth/login", wrong))["statusCode"] == 401
    tokens = tokens_of(await call("POST /auth/login", {"email": email, "password": PASSWORD}))
    tokens_of(await call("POST /auth/refresh", {"refreshToken": tokens["refreshToken"]}))
    assert (await call("POST /auth/forgot-password", {"email": email}))["statusCode"] == 202
    reset = {"email": email, "code": "moto-confirmation-code:0", "newPassword": NEW_PASSWORD}
    assert (await call("POST /auth/reset-password", reset))["statusCode"] == 400
    reset["code"] = "123456"
    assert (await call("POST /auth/reset-password", reset))["statusCode"] == 204
    tokens = tokens_of(await call("POST /auth/login", {"email": email, "password": NEW_PASSWORD}))
    access = tokens["accessToken"]
    assert (await call("POST /auth/logout", access_token=access))["statusCode"] == 204
    # Cognito's refusal of a revoked access token quotes the token in its message
    assert (await call("POST /auth/logout", access_token=access))["statusCode"] == 401
    refresh = {"refreshToken": tokens["refreshToken"]}
    assert (await call("POST /auth/refresh", refresh))["statusCode"] == 401

    # When the container stops (flushing its output)
    auth_function.close()
    out, err = capfd.readouterr()
    output = out + err

    # Then the capture holds the function's output: one access log line per call, the metrics
    assert output.count('"message":"request handled"') == calls
    for metric in ("Registrations", "LoginsSucceeded", "LoginsFailed"):
        assert f'"{metric}"' in output
    # And not one password or token
    leaked = [secret[:12] + "..." for secret in secrets if secret in output]
    assert leaked == []
