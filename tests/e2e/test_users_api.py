"""The caller's profile over HTTP through the local gateway: read, update, delete the account."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from emulator.local_system import LocalSystem
from libs.domain_events import UserDeleted
from libs.table_keys import as_key, order_key, profile_key
from tests.accounts import SignedInUser
from tests.bus_capture import events_of

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
LISBON = {"line1": "1 Main St", "city": "Lisbon", "postalCode": "1000-001", "country": "PT"}


async def call(
    method: str, api_url: str, user: SignedInUser, body: Any = None
) -> requests.Response:
    """One request to /users/me with the user's access token (off the test's event loop)."""
    return await asyncio.to_thread(
        requests.request, method, f"{api_url}/users/me", json=body, headers=user.headers, timeout=10
    )


async def me(api_url: str, user: SignedInUser) -> dict[str, Any]:
    response = await call("GET", api_url, user)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/{slug}")
    return body


async def profile_item(db: DynamoDBClient, table: str, user_id: str) -> dict[str, Any] | None:
    response = await db.get_item(TableName=table, Key=as_key(profile_key(user_id)))
    return response.get("Item")


# -- reading and updating ------------------------------------------------------------------


async def test_a_user_without_a_profile_sees_the_defaults(
    api_url: str, alice: SignedInUser
) -> None:
    assert await me(api_url, alice) == {
        "userId": alice.user_id,
        "email": alice.email,
        "emailVerified": True,
        "name": None,
        "phone": None,
        "address": None,
        "preferences": {"email": True, "sms": False},
        "createdAt": None,
        "updatedAt": None,
        "version": 0,
    }


@pytest.mark.smoke
async def test_updates_merge_into_the_profile_and_move_its_version(
    api_url: str, alice: SignedInUser
) -> None:
    # Given alice saves her first profile
    first = await call(
        "PUT",
        api_url,
        alice,
        {"version": 0, "name": "Alice", "phone": "+351912345678", "address": LISBON},
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    # When she then changes only her phone and one notification flag
    second = await call(
        "PUT",
        api_url,
        alice,
        {"version": 1, "phone": "+442071234567", "preferences": {"sms": True}},
    )
    # Then the rest is kept, the version is 2, and GET answers what PUT answered
    assert second.status_code == 200, second.text
    profile = await me(api_url, alice)
    assert profile == second.json()
    assert (profile["name"], profile["phone"], profile["address"]) == (
        "Alice",
        "+442071234567",
        LISBON | {"line2": None},
    )
    assert profile["preferences"] == {"email": True, "sms": True}
    assert profile["version"] == 2
    assert profile["createdAt"] == first.json()["createdAt"]
    assert profile["email"] == alice.email


async def test_a_stale_version_is_a_409_and_changes_nothing(
    api_url: str, alice: SignedInUser
) -> None:
    # Given a profile at version 1
    await call("PUT", api_url, alice, {"version": 0, "name": "Alice"})
    before = await me(api_url, alice)
    # When a client that read version 0 saves, and another claims a version not yet reached
    for stale in (0, 2):
        response = await call("PUT", api_url, alice, {"version": stale, "name": "Mallory"})
        # Then both are refused and the profile is as it was
        assert_problem(response, 409, "conflict")
    assert await me(api_url, alice) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 0, "phone": "0912345678"}, "phone"),
        ({"version": 0, "phone": "+351 912 345 678"}, "phone"),
        ({"version": 0, "isAdmin": True}, "isAdmin"),
        ({"version": 0, "preferences": {"push": True}}, "preferences.push"),
        ({"version": 0, "address": {**LISBON, "country": "Portugal"}}, "address.country"),
        ({"name": "Alice"}, "version"),
    ],
)
async def test_an_invalid_update_is_a_422_naming_the_field_and_writes_nothing(
    api_url: str, alice: SignedInUser, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await call("PUT", api_url, alice, body), 422, "validation-failed")
    assert field in [p["name"] for p in problem["invalidParams"]]
    assert (await me(api_url, alice))["version"] == 0


async def test_each_user_only_ever_reaches_their_own_profile(
    api_url: str, alice: SignedInUser, bob: SignedInUser
) -> None:
    # Given alice and bob each saved a profile
    await call("PUT", api_url, alice, {"version": 0, "name": "Alice"})
    await call("PUT", api_url, bob, {"version": 0, "name": "Bob", "phone": "+15551234567"})
    # When bob updates "me" with the version alice's profile is at
    await call("PUT", api_url, bob, {"version": 1, "name": "Bob B."})
    # Then each sees only their own values
    alices, bobs = await me(api_url, alice), await me(api_url, bob)
    assert (alices["userId"], alices["name"], alices["phone"], alices["version"]) == (
        alice.user_id,
        "Alice",
        None,
        1,
    )
    assert (bobs["userId"], bobs["name"], bobs["version"]) == (bob.user_id, "Bob B.", 2)
    # And no route takes a user id: another user's profile has no address at all
    other = await asyncio.to_thread(
        requests.get, f"{api_url}/users/{alice.user_id}", headers=bob.headers, timeout=10
    )
    assert other.status_code == 404
    assert alice.user_id not in other.text


async def test_a_wrong_method_is_a_405_and_no_token_is_a_401(
    api_url: str, alice: SignedInUser
) -> None:
    wrong = await call("PATCH", api_url, alice, {"version": 0})
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["allow"] == "DELETE, GET, PUT"
    anonymous = await asyncio.to_thread(requests.get, f"{api_url}/users/me", timeout=10)
    assert anonymous.status_code == 401


# -- deleting the account ------------------------------------------------------------------


async def test_deleting_the_account_removes_the_user_and_profile_but_keeps_orders(
    api_url: str,
    stack: LocalSystem,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    cognito: CognitoIdentityProviderClient,
) -> None:
    table = stack.outputs.table_name
    # Given alice has a profile and an order
    await call("PUT", api_url, alice, {"version": 0, "name": "Alice"})
    placed = await asyncio.to_thread(
        requests.post,
        f"{api_url}/orders",
        json={"items": [{"productId": "usb-c-hub", "quantity": 1}]},
        headers=alice.headers,
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    # When she deletes her account
    deleted = await call("DELETE", api_url, alice)
    # Then the answer is 204, and her still-unexpired token reaches a function that says 404
    assert deleted.status_code == 204, deleted.text
    assert deleted.text == ""
    assert_problem(await call("GET", api_url, alice), 404, "not-found")
    assert_problem(await call("PUT", api_url, alice, {"version": 0, "name": "A"}), 404, "not-found")
    # And the Cognito user and the profile item are gone, while the order is kept
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        await cognito.admin_get_user(UserPoolId=stack.outputs.user_pool_id, Username=alice.email)
    assert await profile_item(dynamodb, table, alice.user_id) is None
    order = await dynamodb.get_item(
        TableName=table, Key=as_key(order_key(placed.json()["orderId"]))
    )
    assert order["Item"]["userId"] == {"S": alice.user_id}
    # And a retried DELETE succeeds again: the account does not exist, as asked
    assert (await call("DELETE", api_url, alice)).status_code == 204


async def test_a_retry_completes_a_deletion_that_stopped_half_way(
    api_url: str,
    stack: LocalSystem,
    alice: SignedInUser,
    dynamodb: DynamoDBClient,
    cognito: CognitoIdentityProviderClient,
) -> None:
    # Given alice's Cognito user is gone but her profile item is still there
    await call("PUT", api_url, alice, {"version": 0, "name": "Alice"})
    await cognito.admin_delete_user(UserPoolId=stack.outputs.user_pool_id, Username=alice.user_id)
    # When her DELETE is retried
    response = await call("DELETE", api_url, alice)
    # Then it answers 204 and nothing of the profile is left
    assert response.status_code == 204, response.text
    assert await profile_item(dynamodb, stack.outputs.table_name, alice.user_id) is None


@pytest.fixture
async def user_events(stack: LocalSystem) -> AsyncIterator[tuple[Any, str]]:
    """A queue receiving every users event from the bus."""
    async with events_of(stack, UserDeleted.SOURCE) as captured:
        yield captured


async def test_deleting_the_account_announces_user_deleted(
    api_url: str, alice: SignedInUser, user_events: tuple[Any, str]
) -> None:
    sqs, queue_url = user_events
    assert (await call("DELETE", api_url, alice)).status_code == 204
    # The event leaves through the outbox and the stream relay: wait for it, boundedly.
    mine: list[dict[str, Any]] = []
    for _ in range(10):
        response = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        events = [json.loads(m["Body"]) for m in response.get("Messages", [])]
        mine += [e for e in events if e["detail"]["userId"] == alice.user_id]
        if mine:
            break
    assert [e["detail-type"] for e in mine] == [UserDeleted.DETAIL_TYPE]
