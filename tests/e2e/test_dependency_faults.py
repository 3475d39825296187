"""Dependency faults: AWS unreachable or slow in the middle of a request.

The functions under test reach AWS through a fault proxy (emulator/faults.py) that can reset
their connections (down) or hold AWS's answers (slow), for every call or for one operation. The
function answers itself, well before its timeout: 503 ``dependency-unavailable`` or 504
``dependency-timeout``, problem+json with ``Retry-After``. Once the fault is cleared the table
holds each write completely or not at all, and a retry converges on one result.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests
from aws_lambda_powertools.event_handler import Response
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from emulator.faults import Fault, FaultKind, FaultyApi
from libs.http_function import DEADLINE_MARGIN_SECONDS, HttpFunction
from libs.json_api import json_response
from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from libs.sealed_fields import FieldSealer
from libs.table_keys import as_key, idempotency_key, profile_key, user_partition
from services.users.profile_table import Sealing, to_profile
from tests.accounts import SignedInUser
from tests.lambda_context import as_lambda_context
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient

# Shorter than the declared 10 s, so a slow dependency costs each test seconds, not ten; longer
# than three attempts at an unreachable endpoint (at most 3 s of backoff) plus the margin.
FUNCTION_TIMEOUT_SECONDS = 6
ONE_HUB = {"items": [{"productId": "usb-c-hub", "quantity": 1}]}

pytestmark = pytest.mark.e2e
needs_fault_injection = pytest.mark.emulator("puts a fault proxy between the functions and AWS")


@pytest.fixture(scope="module")
def faulty_api(stack: SystemUnderTest) -> Iterator[FaultyApi]:
    """The orders and users functions, reaching the stack's AWS endpoint through a fault proxy."""
    with FaultyApi(
        stack.outputs, ("orders", "users"), timeout_seconds=FUNCTION_TIMEOUT_SECONDS
    ) as api:
        yield api


@pytest.fixture
def faults(faulty_api: FaultyApi) -> Iterator[FaultyApi]:
    """The faulty API, with whatever fault a test injects cleared afterwards."""
    yield faulty_api
    faulty_api.fault = None


@dataclass(frozen=True)
class Timed:
    response: requests.Response
    seconds: float


async def call(
    api: FaultyApi, method: str, path: str, user: SignedInUser, body: Any = None, **headers: str
) -> Timed:
    """One request to the faulty API (off the test's event loop), and how long it took."""
    started = time.monotonic()
    response = await asyncio.to_thread(
        requests.request,
        method,
        f"{api.api_url}{path}",
        json=body,
        headers=user.headers | headers,
        timeout=60,
    )
    return Timed(response, time.monotonic() - started)


def assert_answered_in_time(timed: Timed, status: int, slug: str) -> None:
    """The function's own problem, with Retry-After, before its timeout could end it."""
    response = timed.response
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["type"] == TYPE_BASE + slug
    assert int(response.headers["retry-after"]) >= 1
    assert timed.seconds < FUNCTION_TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS / 2


# -- what the table holds ----------------------------------------------------------------------


async def orders_of(db: DynamoDBClient, table: str, user: SignedInUser) -> list[dict[str, Any]]:
    response = await db.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :user",
        ExpressionAttributeValues={":user": {"S": user_partition(user.user_id)}},
    )
    return response["Items"]


async def outbox_mentioning(db: DynamoDBClient, table: str, text: str) -> list[dict[str, Any]]:
    response = await db.scan(
        TableName=table,
        FilterExpression="begins_with(PK, :outbox) AND contains(detail, :text)",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX#"}, ":text": {"S": text}},
    )
    return response["Items"]


async def stored(db: DynamoDBClient, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    response = await db.get_item(TableName=table, Key=as_key(key), ConsistentRead=True)
    return response.get("Item")


async def assert_order_whole_or_absent(
    db: DynamoDBClient, table: str, user: SignedInUser, key: str
) -> str | None:
    """The user's order and everything its transaction writes, all there or all absent.

    Returns the id of the order when it is there.
    """
    orders = await orders_of(db, table, user)
    record = await stored(db, table, idempotency_key(user.user_id, key))
    events = await outbox_mentioning(db, table, user.user_id)
    if not orders:
        assert (record, events) == (None, [])
        return None
    (order,) = orders
    order_id: str = order["orderId"]["S"]
    assert record is not None
    assert record["orderId"]["S"] == order_id
    assert [e["detailType"]["S"] for e in events] == ["OrderCreated"]
    return order_id


# -- orders ------------------------------------------------------------------------------------


@needs_fault_injection
async def test_an_order_whose_write_cannot_reach_dynamodb_is_a_503_and_leaves_nothing(
    faults: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given DynamoDB answers reads but resets every TransactWriteItems connection
    faults.fault = Fault(FaultKind.DOWN, operation="TransactWriteItems")
    key = f"fault-{uuid.uuid4().hex}"
    # When alice places an order
    placed = await call(faults, "POST", "/orders", alice, ONE_HUB, **{"Idempotency-Key": key})
    # Then the function says the dependency is unavailable, in time
    assert_answered_in_time(placed, 503, "dependency-unavailable")
    # And nothing was written: no order, no idempotency record, no event
    assert await assert_order_whole_or_absent(dynamodb, table_name, alice, key) is None
    # When the fault clears and she retries with the same key, twice
    faults.fault = None
    first = await call(faults, "POST", "/orders", alice, ONE_HUB, **{"Idempotency-Key": key})
    again = await call(faults, "POST", "/orders", alice, ONE_HUB, **{"Idempotency-Key": key})
    # Then one order exists, and both answers are that order
    assert first.response.status_code == 201, first.response.text
    assert again.response.status_code == 201, again.response.text
    assert again.response.headers["idempotent-replayed"] == "true"
    order_id = await assert_order_whole_or_absent(dynamodb, table_name, alice, key)
    assert first.response.json()["orderId"] == again.response.json()["orderId"] == order_id


@needs_fault_injection
async def test_an_order_whose_write_gets_no_answer_is_a_504_and_whole_or_absent(
    faults: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given DynamoDB receives TransactWriteItems but holds its answer past any timeout
    faults.fault = Fault(FaultKind.SLOW, operation="TransactWriteItems")
    key = f"fault-{uuid.uuid4().hex}"
    # When alice places an order
    placed = await call(faults, "POST", "/orders", alice, ONE_HUB, **{"Idempotency-Key": key})
    # Then the function gives up at its deadline and says so, instead of being killed
    assert_answered_in_time(placed, 504, "dependency-timeout")
    assert placed.seconds >= FUNCTION_TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS - 0.5
    # And once the fault clears, the order is either whole or absent: never half written
    faults.fault = None
    committed = await assert_order_whole_or_absent(dynamodb, table_name, alice, key)
    # When she retries with the same key
    retried = await call(faults, "POST", "/orders", alice, ONE_HUB, **{"Idempotency-Key": key})
    # Then she gets the one order, the very one the unanswered write committed if it did
    assert retried.response.status_code == 201, retried.response.text
    order_id = await assert_order_whole_or_absent(dynamodb, table_name, alice, key)
    assert retried.response.json()["orderId"] == order_id
    if committed is not None:
        assert order_id == committed
        assert retried.response.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize(
    ("fault", "status", "slug"),
    [
        pytest.param(Fault(FaultKind.DOWN), 503, "dependency-unavailable", id="down"),
        pytest.param(Fault(FaultKind.SLOW), 504, "dependency-timeout", id="slow"),
    ],
)
@pytest.mark.parametrize("path", ["/orders", "/users/me"])
@needs_fault_injection
async def test_a_read_during_a_fault_is_answered_in_time(
    faults: FaultyApi, alice: SignedInUser, fault: Fault, status: int, slug: str, path: str
) -> None:
    # Given every call to AWS fails (GET /users/me calls Cognito and DynamoDB at once)
    faults.fault = fault
    # When alice reads, Then the function answers with the problem, in time
    assert_answered_in_time(await call(faults, "GET", path, alice), status, slug)
    # And once the fault clears, the same read works
    faults.fault = None
    assert (await call(faults, "GET", path, alice)).response.status_code == 200


# -- the profile ---------------------------------------------------------------------------------


@needs_fault_injection
async def test_a_profile_update_that_cannot_reach_dynamodb_is_a_503_and_changes_nothing(
    faults: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given DynamoDB's UpdateItem connections are reset
    faults.fault = Fault(FaultKind.DOWN, operation="UpdateItem")
    change = {"version": 0, "name": "Alice"}
    # When alice saves her first profile, Then it is a 503 and no profile exists
    assert_answered_in_time(
        await call(faults, "PUT", "/users/me", alice, change), 503, "dependency-unavailable"
    )
    assert await stored(dynamodb, table_name, profile_key(alice.user_id)) is None
    # When the fault clears and she retries, Then the profile is created once
    faults.fault = None
    retried = await call(faults, "PUT", "/users/me", alice, change)
    assert retried.response.status_code == 200, retried.response.text
    assert retried.response.json()["version"] == 1


@needs_fault_injection
async def test_a_profile_update_without_an_answer_is_a_504_and_applied_whole_or_not(
    faults: FaultyApi,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    kms: KMSClient,
    stack: SystemUnderTest,
    table_name: str,
) -> None:
    # Given DynamoDB receives UpdateItem but never answers in time
    faults.fault = Fault(FaultKind.SLOW, operation="UpdateItem")
    change = {"version": 0, "name": "Alice", "phone": "+351912345678"}
    # When alice saves her first profile, Then it is a 504 before the function's timeout
    assert_answered_in_time(
        await call(faults, "PUT", "/users/me", alice, change), 504, "dependency-timeout"
    )
    faults.fault = None
    # And the profile is either absent or holds the whole change at version 1
    item = await stored(dynamodb, table_name, profile_key(alice.user_id))
    if item is not None:
        # (name and phone are sealed: opened as the users function opens them)
        sealing = Sealing(FieldSealer(stack.outputs.pii_key_arn), kms)
        profile = await to_profile(item, alice.user_id, sealing)
        assert (profile.name, profile.phone, profile.version) == ("Alice", "+351912345678", 1)
    # When she retries the same change: applied now, or a 409 because it already was
    retried = await call(faults, "PUT", "/users/me", alice, change)
    assert retried.response.status_code == (200 if item is None else 409), retried.response.text
    # Then her profile holds the change exactly once
    profile = (await call(faults, "GET", "/users/me", alice)).response.json()
    assert (profile["name"], profile["phone"], profile["version"]) == (
        "Alice",
        "+351912345678",
        1,
    )


@needs_fault_injection
async def test_an_account_deletion_cut_short_by_cognito_is_a_503_and_completed_by_a_retry(
    faults: FaultyApi,
    alice: SignedInUser,
    cognito: CognitoIdentityProviderClient,
    dynamodb: DynamoDBClient,
    table_name: str,
    stack: SystemUnderTest,
) -> None:
    # Given alice has a profile, and Cognito resets AdminDeleteUser's connections
    saved = await call(faults, "PUT", "/users/me", alice, {"version": 0, "name": "Alice"})
    assert saved.response.status_code == 200, saved.response.text
    faults.fault = Fault(FaultKind.DOWN, operation="AdminDeleteUser")
    # When she deletes her account, Then it is a 503: the profile went, the account did not
    deleted = await call(faults, "DELETE", "/users/me", alice)
    assert_answered_in_time(deleted, 503, "dependency-unavailable")
    assert await stored(dynamodb, table_name, profile_key(alice.user_id)) is None
    await cognito.admin_get_user(UserPoolId=stack.outputs.user_pool_id, Username=alice.email)
    # When the fault clears and she retries, Then the deletion completes
    faults.fault = None
    assert (await call(faults, "DELETE", "/users/me", alice)).response.status_code == 204
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        await cognito.admin_get_user(UserPoolId=stack.outputs.user_pool_id, Username=alice.email)


# -- the mapping, in one place: botocore's errors and the deadline ----------------------------


@dataclass
class Context:
    """Lambda's context, with ``remaining_ms`` left before the timeout."""

    remaining_ms: int = 10_000
    function_name: str = "products"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:products"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "request-1"
    log_group_name: str = "/aws/lambda/products"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def products_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /products",
        "rawPath": "/products",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/products", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": "GET /products",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (EndpointConnectionError(endpoint_url=ENDPOINT), 503, "dependency-unavailable"),
        (ConnectionClosedError(endpoint_url=ENDPOINT), 503, "dependency-unavailable"),
        (ConnectTimeoutError(endpoint_url=ENDPOINT), 504, "dependency-timeout"),
        (ReadTimeoutError(endpoint_url=ENDPOINT), 504, "dependency-timeout"),
        (TimeoutError(), 504, "dependency-timeout"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_each_dependency_failure_maps_to_one_problem(
    error: Exception, status: int, slug: str
) -> None:
    # Given a route whose AWS call fails with ``error``
    api = HttpFunction("products")

    @api.route("GET /products")
    async def list_products() -> Response[str]:
        raise error

    # When it is invoked, Then the answer is the problem every service gives for it
    answer = api.handler(products_event(), as_lambda_context(Context()))
    assert answer["statusCode"] == status
    assert answer["headers"]["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert answer["headers"]["Retry-After"] == "1"
    assert TYPE_BASE + slug in answer["body"]


def test_work_outliving_the_invocation_is_cut_at_the_deadline_with_a_504() -> None:
    # Given a route that would wait longer than the invocation has left
    api = HttpFunction("products")

    @api.route("GET /products")
    async def list_products() -> Response[str]:
        await asyncio.sleep(30)
        return json_response(200, {"items": []})

    # When it is invoked with 1.5 s left
    started = time.monotonic()
    answer = api.handler(products_event(), as_lambda_context(Context(remaining_ms=1500)))
    # Then it answers 504 itself, keeping the margin, instead of being killed
    assert time.monotonic() - started < 1.5 - DEADLINE_MARGIN_SECONDS / 2
    assert answer["statusCode"] == 504
    assert answer["headers"]["Retry-After"] == "1"
    assert TYPE_BASE + "dependency-timeout" in answer["body"]
