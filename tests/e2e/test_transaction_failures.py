"""Cancelled transactions, answered by their reason, through the gateway.

The functions reach AWS through the fault proxy (emulator/faults.py), which answers one chosen
operation with the error body DynamoDB would send: a TransactWriteItems cancelled for given
reasons, or a throttled request. Each call site answers a failed condition on its own item
with its domain answer (a replay, a 409), contention and capacity with a 503
``service-unavailable`` and ``Retry-After`` once the retries are spent, a refusal no retry
cures with a 503 without it; never a 500. Whatever the answer, the table then holds the whole
change or none of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from emulator.faults import AwsAnswer, FaultyApi, dynamodb_error, transaction_cancelled
from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from libs.table_keys import order_key, profile_key
from libs.transactions import ATTEMPTS
from tests.accounts import SignedInUser
from tests.e2e.test_dependency_faults import (
    FUNCTION_TIMEOUT_SECONDS,
    ONE_HUB,
    assert_order_whole_or_absent,
    call,
    orders_of,
    outbox_mentioning,
    stored,
)
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e
needs_aws_answers = pytest.mark.emulator("puts an answering proxy between the functions and AWS")

BUSY_REASONS = ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded")
# A throttled request is an error of its own, retried by the SDK (not a cancellation).
THROTTLED_REQUESTS = [
    pytest.param("ThrottlingException", "com.amazon.coral.availability#", id="ThrottlingException"),
    pytest.param(
        "ProvisionedThroughputExceededException",
        "com.amazonaws.dynamodb.v20120810#",
        id="ProvisionedThroughputExceededException",
    ),
]


@pytest.fixture(scope="module")
def answering_api(stack: SystemUnderTest) -> Iterator[FaultyApi]:
    """The orders and users functions, reaching AWS through the answering proxy."""
    with FaultyApi(
        stack.outputs, ("orders", "users"), timeout_seconds=FUNCTION_TIMEOUT_SECONDS
    ) as api:
        yield api


@pytest.fixture
def api(answering_api: FaultyApi) -> Iterator[FaultyApi]:
    """The answering API, with the test's answers removed afterwards."""
    yield answering_api
    answering_api.answer()


def assert_problem(response: requests.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["type"] == TYPE_BASE + slug


def assert_busy(response: requests.Response) -> None:
    """503 ``service-unavailable``, and when to retry."""
    assert_problem(response, 503, "service-unavailable")
    assert int(response.headers["retry-after"]) >= 1


def assert_refused(response: requests.Response) -> None:
    """503 ``service-unavailable`` with no Retry-After: the same request would fail again."""
    assert_problem(response, 503, "service-unavailable")
    assert "retry-after" not in response.headers


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"tx-{uuid.uuid4().hex}"}


# -- POST /orders: order, idempotency record, OrderCreated outbox item ---------------------------


@pytest.mark.parametrize("reason", BUSY_REASONS)
@needs_aws_answers
async def test_an_order_cancelled_as_busy_every_time_is_a_503_and_leaves_nothing(
    api: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str, reason: str
) -> None:
    # Given every TransactWriteItems is cancelled for ``reason`` on the order item
    answer = transaction_cancelled(reason, "None", "None")
    api.answer(answer)
    headers = key()
    # When alice places an order
    placed = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    # Then, after trying as often as the clients do, it is a 503 with Retry-After
    assert_busy(placed.response)
    assert answer.answered == ATTEMPTS
    # And nothing was written
    assert (
        await assert_order_whole_or_absent(dynamodb, table_name, alice, headers["Idempotency-Key"])
        is None
    )
    # When the table is free again and she retries with the key, Then the order is placed once
    api.answer()
    retried = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert retried.response.status_code == 201, retried.response.text
    order_id = await assert_order_whole_or_absent(
        dynamodb, table_name, alice, headers["Idempotency-Key"]
    )
    assert retried.response.json()["orderId"] == order_id


@needs_aws_answers
async def test_an_order_cancelled_by_a_passing_conflict_is_placed_by_the_retry(
    api: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given the next TransactWriteItems, only, meets a conflicting transaction
    answer = transaction_cancelled("TransactionConflict", "None", "None", times=1)
    api.answer(answer)
    headers = key()
    # When alice places an order, Then it is placed, whole, on the second try
    placed = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert placed.response.status_code == 201, placed.response.text
    assert answer.answered == 1
    order_id = await assert_order_whole_or_absent(
        dynamodb, table_name, alice, headers["Idempotency-Key"]
    )
    assert placed.response.json()["orderId"] == order_id


@pytest.mark.parametrize(("code", "namespace"), THROTTLED_REQUESTS)
@needs_aws_answers
async def test_an_order_write_throttled_every_time_is_a_503_after_the_sdk_retries(
    api: FaultyApi,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    code: str,
    namespace: str,
) -> None:
    # Given every TransactWriteItems request is throttled
    answer = dynamodb_error("TransactWriteItems", code, namespace=namespace)
    api.answer(answer)
    headers = key()
    # When alice places an order
    placed = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    # Then the SDK tried three times, and the function answers 503 with Retry-After
    assert_busy(placed.response)
    assert answer.answered == 3
    assert (
        await assert_order_whole_or_absent(dynamodb, table_name, alice, headers["Idempotency-Key"])
        is None
    )


@needs_aws_answers
async def test_an_order_refused_by_validation_is_a_503_without_retry_after_and_not_retried(
    api: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given TransactWriteItems is cancelled because an item is invalid
    answer = transaction_cancelled("None", "ValidationError", "None")
    api.answer(answer)
    headers = key()
    # When alice places an order, Then it is refused once, with no invitation to retry
    placed = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert_refused(placed.response)
    assert answer.answered == 1
    assert (
        await assert_order_whole_or_absent(dynamodb, table_name, alice, headers["Idempotency-Key"])
        is None
    )


@needs_aws_answers
async def test_an_order_losing_the_race_for_its_key_answers_the_winner(
    api: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given alice placed an order with a key
    headers = key()
    first = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert first.response.status_code == 201, first.response.text
    # And the same request's first look-up of the key misses it, as a concurrent one would
    api.answer(AwsAnswer("GetItem", {}, status=200, times=1))
    # When she sends it again, Then the transaction is cancelled on the key's record (by the
    # table itself), and the answer is the first order, replayed
    again = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert again.response.status_code == 201, again.response.text
    assert again.response.headers["idempotent-replayed"] == "true"
    assert again.response.json()["orderId"] == first.response.json()["orderId"]
    # And there is still one order, whole
    order_id = await assert_order_whole_or_absent(
        dynamodb, table_name, alice, headers["Idempotency-Key"]
    )
    assert order_id == first.response.json()["orderId"]


@needs_aws_answers
async def test_a_key_conflict_whose_record_is_gone_is_a_503_and_leaves_nothing(
    api: FaultyApi, alice: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given the transaction is cancelled on the key's record, which is not there to replay
    api.answer(transaction_cancelled("None", "ConditionalCheckFailed", "None"))
    headers = key()
    # When alice places an order, Then it is a 503 with Retry-After and nothing is written
    placed = await call(api, "POST", "/orders", alice, ONE_HUB, **headers)
    assert_busy(placed.response)
    assert (
        await assert_order_whole_or_absent(dynamodb, table_name, alice, headers["Idempotency-Key"])
        is None
    )


@pytest.mark.parametrize(
    "reasons",
    [("ConditionalCheckFailed", "None"), ("None", "ConditionalCheckFailed")],
    ids=["order-item", "outbox-item"],
)
@needs_aws_answers
async def test_an_unkeyed_order_whose_new_ids_are_taken_is_a_503_not_a_500(
    api: FaultyApi,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    reasons: tuple[str, ...],
) -> None:
    # Given the condition on a new order's (or event's) id fails, as a reused id would
    api.answer(transaction_cancelled(*reasons))
    # When alice places an order without a key, Then it is a 503 with Retry-After
    placed = await call(api, "POST", "/orders", alice, ONE_HUB)
    assert_busy(placed.response)
    # And no order and no event were written
    assert await orders_of(dynamodb, table_name, alice) == []
    assert await outbox_mentioning(dynamodb, table_name, alice.user_id) == []


# -- PATCH /orders/{id}: conditional update, OrderStatusChanged outbox item ----------------------


async def placed_order(api: FaultyApi, user: SignedInUser) -> str:
    placed = await call(api, "POST", "/orders", user, ONE_HUB)
    assert placed.response.status_code == 201, placed.response.text
    order_id: str = placed.response.json()["orderId"]
    return order_id


async def assert_unchanged(
    db: DynamoDBClient, table: str, user: SignedInUser, order_id: str
) -> None:
    """The order is PENDING at version 1, and no status change was announced."""
    item = await stored(db, table, order_key(order_id))
    assert item is not None
    assert (item["status"]["S"], item["version"]["N"]) == ("PENDING", "1")
    events = await outbox_mentioning(db, table, order_id)
    assert [e["detailType"]["S"] for e in events] == ["OrderCreated"]
    assert user.user_id in events[0]["detail"]["S"]


@pytest.mark.parametrize(
    ("reasons", "status", "slug", "retry_after"),
    [
        pytest.param(("ConditionalCheckFailed", "None"), 409, "conflict", False, id="order-item"),
        pytest.param(
            ("None", "ConditionalCheckFailed"), 503, "service-unavailable", True, id="outbox-item"
        ),
        pytest.param(
            ("TransactionConflict", "None"), 503, "service-unavailable", True, id="conflict"
        ),
        pytest.param(("ThrottlingError", "None"), 503, "service-unavailable", True, id="throttled"),
        pytest.param(
            ("None", "ValidationError"), 503, "service-unavailable", False, id="validation"
        ),
    ],
)
@needs_aws_answers
async def test_a_cancelled_status_change_is_answered_by_its_reason_and_changes_nothing(
    api: FaultyApi,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    reasons: tuple[str, ...],
    status: int,
    slug: str,
    retry_after: bool,
) -> None:
    # Given alice's order, and status changes cancelled for ``reasons``
    order_id = await placed_order(api, alice)
    api.answer(transaction_cancelled(*reasons))
    # When she cancels it
    change = {"status": "CANCELLED", "version": 1}
    changed = await call(api, "PATCH", f"/orders/{order_id}", alice, change)
    # Then the answer is the reason's, with Retry-After where a retry can succeed
    assert_problem(changed.response, status, slug)
    assert ("retry-after" in changed.response.headers) is retry_after
    # And the order is as it was, its change unannounced
    await assert_unchanged(dynamodb, table_name, alice, order_id)
    # When the table answers again and she retries, Then the order is cancelled
    api.answer()
    retried = await call(api, "PATCH", f"/orders/{order_id}", alice, change)
    assert retried.response.status_code == 200, retried.response.text
    assert retried.response.json()["status"] == "CANCELLED"


# -- DELETE /users/me: profile deletion, UserDeleted outbox item ----------------------------------


@pytest.mark.parametrize(
    ("reasons", "retry_after"),
    [
        pytest.param(("TransactionConflict", "None"), True, id="conflict"),
        pytest.param(("ProvisionedThroughputExceeded", "None"), True, id="capacity"),
        pytest.param(("None", "ConditionalCheckFailed"), True, id="outbox-item"),
        pytest.param(("ValidationError", "None"), False, id="validation"),
    ],
)
@needs_aws_answers
async def test_a_cancelled_account_deletion_is_a_503_and_deletes_nothing(
    api: FaultyApi,
    alice: SignedInUser,
    cognito: CognitoIdentityProviderClient,
    dynamodb: DynamoDBClient,
    table_name: str,
    stack: SystemUnderTest,
    reasons: tuple[str, ...],
    retry_after: bool,
) -> None:
    # Given alice has a profile, and the deletion's transaction is cancelled for ``reasons``
    saved = await call(api, "PUT", "/users/me", alice, {"version": 0, "name": "Alice"})
    assert saved.response.status_code == 200, saved.response.text
    api.answer(transaction_cancelled(*reasons))
    # When she deletes her account, Then it is a 503 (with Retry-After when it can pass)
    deleted = await call(api, "DELETE", "/users/me", alice)
    if retry_after:
        assert_busy(deleted.response)
    else:
        assert_refused(deleted.response)
    # And her profile and her account are still there, the deletion unannounced
    assert await stored(dynamodb, table_name, profile_key(alice.user_id)) is not None
    await cognito.admin_get_user(UserPoolId=stack.outputs.user_pool_id, Username=alice.email)
    assert await user_deleted_events(dynamodb, table_name, alice) == []
    # When the table answers again and she retries, Then the account is deleted
    api.answer()
    assert (await call(api, "DELETE", "/users/me", alice)).response.status_code == 204
    assert await stored(dynamodb, table_name, profile_key(alice.user_id)) is None


async def user_deleted_events(
    db: DynamoDBClient, table: str, user: SignedInUser
) -> list[dict[str, Any]]:
    events = await outbox_mentioning(db, table, user.user_id)
    return [event for event in events if event["detailType"]["S"] == "UserDeleted"]
