"""Auth over HTTP through the local gateway: the life of an account and its error answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.exceptions import ClientError

from emulator.local_system import LocalSystem
from libs.domain_events import UserRegistered
from tests.accounts import TEST_EMAIL_DOMAIN, AccountEmails, account_email
from tests.bus_capture import events_of

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

pytestmark = pytest.mark.e2e
ANY_CODE = "confirms with a made-up code, which moto accepts"

PROBLEM = "application/problem+json"
PASSWORD = "Correct-Horse-7"
NEW_PASSWORD = "Battery-Staple-9"


def post(
    api_url: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.post(f"{api_url}{path}", json=body, headers=headers or {}, timeout=10)


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://serverless-blueprint.dev/problems/{slug}"
    assert body["status"] == status
    return body


def register(api_url: str, email: str, password: str = PASSWORD) -> requests.Response:
    return post(api_url, "/auth/register", {"email": email, "password": password, "name": "Ada"})


def log_in(api_url: str, email: str, password: str = PASSWORD) -> requests.Response:
    return post(api_url, "/auth/login", {"email": email, "password": password})


def confirmed_account(api_url: str, emails: AccountEmails) -> str:
    """The email of a registered and confirmed account (the emulator accepts any code)."""
    email = emails.new("auth")
    assert register(api_url, email).status_code == 201
    assert post(api_url, "/auth/confirm", {"email": email, "code": "123456"}).status_code == 204
    return email


# -- the life of an account -------------------------------------------------------------------


@pytest.mark.moto(ANY_CODE)
async def test_an_account_from_registration_to_logout(
    api_url: str, cognito: CognitoIdentityProviderClient, account_emails: AccountEmails
) -> None:
    # Given a registration, confirmed with the emailed code
    email = account_emails.new("auth")
    registered = await asyncio.to_thread(register, api_url, email)
    assert registered.status_code == 201, registered.text
    assert registered.json()["confirmed"] is False
    confirm = {"email": email, "code": "123456"}
    confirmed = await asyncio.to_thread(post, api_url, "/auth/confirm", confirm)
    assert confirmed.status_code == 204, confirmed.text
    # When the user logs in and refreshes the session
    login = await asyncio.to_thread(log_in, api_url, email)
    assert login.status_code == 200, login.text
    assert login.headers["cache-control"] == "no-store"
    tokens = login.json()
    assert set(tokens) == {"accessToken", "idToken", "refreshToken", "expiresIn", "tokenType"}
    assert tokens["tokenType"] == "Bearer"
    refresh = {"refreshToken": tokens["refreshToken"]}
    refreshed = await asyncio.to_thread(post, api_url, "/auth/refresh", refresh)
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()) == {"accessToken", "idToken", "expiresIn", "tokenType"}
    # Then the new access token is the registered user's and opens protected routes
    access = refreshed.json()["accessToken"]
    me = await cognito.get_user(AccessToken=access)
    sub = next(a["Value"] for a in me["UserAttributes"] if a["Name"] == "sub")
    assert sub == registered.json()["userId"]
    bearer = {"Authorization": f"Bearer {access}"}
    orders = await asyncio.to_thread(requests.get, f"{api_url}/orders", headers=bearer, timeout=10)
    assert orders.status_code == 200
    # When the user logs out
    logout = await asyncio.to_thread(post, api_url, "/auth/logout", None, bearer)
    assert logout.status_code == 204, logout.text
    # Then the refresh token is dead, and Cognito refuses the old access token
    assert_problem(
        await asyncio.to_thread(post, api_url, "/auth/refresh", refresh), 401, "unauthorized"
    )
    with pytest.raises(ClientError) as refused:
        await cognito.get_user(AccessToken=access)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    # But the gateway, like API Gateway's JWT authorizer, cannot see a sign-out: the access
    # token opens protected routes until it expires
    still = await asyncio.to_thread(requests.get, f"{api_url}/orders", headers=bearer, timeout=10)
    assert still.status_code == 200


@pytest.mark.moto(ANY_CODE)
def test_an_email_is_one_account_whatever_its_case(
    api_url: str, account_emails: AccountEmails
) -> None:
    email = confirmed_account(api_url, account_emails)
    assert log_in(api_url, email.upper()).status_code == 200
    assert_problem(register(api_url, email.title()), 409, "conflict")


@pytest.fixture
async def auth_events(stack: LocalSystem) -> AsyncIterator[tuple[Any, str]]:
    """A queue receiving every auth event from the bus."""
    async with events_of(stack, UserRegistered.SOURCE) as captured:
        yield captured


@pytest.mark.moto(ANY_CODE)
async def test_a_confirmation_announces_the_new_user(
    api_url: str, auth_events: tuple[Any, str], account_emails: AccountEmails
) -> None:
    sqs, queue_url = auth_events
    # Given a registration, When it is confirmed
    email = account_emails.new("auth")
    user_id = (await asyncio.to_thread(register, api_url, email)).json()["userId"]
    confirm = {"email": email, "code": "123456"}
    headers = {"x-correlation-id": "corr-auth-1"}
    assert (
        await asyncio.to_thread(post, api_url, "/auth/confirm", confirm, headers)
    ).status_code == 204
    # Then the bus carried UserRegistered for that user
    details: list[dict[str, Any]] = []
    for _ in range(5):
        received = await sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages = [json.loads(m["Body"]) for m in received.get("Messages", [])]
        details += [m["detail"] for m in messages if m["detail-type"] == "UserRegistered"]
        if any(d["userId"] == user_id for d in details):
            break
    [detail] = [d for d in details if d["userId"] == user_id]
    assert (detail["email"], detail["name"]) == (email, "Ada")
    assert detail["correlationId"] == "corr-auth-1"
    assert detail["schemaVersion"] == 1


# -- registration -----------------------------------------------------------------------------


def test_registering_an_email_twice_is_a_409(api_url: str, account_emails: AccountEmails) -> None:
    email = account_emails.new("auth")
    assert register(api_url, email).status_code == 201
    assert_problem(register(api_url, email), 409, "conflict")


def test_a_weak_password_is_a_422_naming_it_and_the_unmet_rules(
    api_url: str, account_emails: AccountEmails
) -> None:
    # When a registration's password breaks the policy
    email = account_emails.new("auth")
    problem = assert_problem(register(api_url, email, "weakpass"), 422, "validation-failed")
    # Then the problem names the field and what is missing, never the password itself
    [param] = problem["invalidParams"]
    assert param["name"] == "password"
    assert "an uppercase letter" in param["reason"]
    assert "a digit" in param["reason"]
    assert "weakpass" not in json.dumps(problem)
    # And nothing was registered: the email is still free
    assert register(api_url, email).status_code == 201


SOMEONE = f"a@{TEST_EMAIL_DOMAIN}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "name": "Ada"}, "email"),
        ({"email": SOMEONE, "password": PASSWORD, "name": "Ada", "admin": 1}, "admin"),
        ({"email": SOMEONE, "password": PASSWORD}, "name"),
        ({"email": SOMEONE, "password": PASSWORD, "name": ""}, "name"),
        ({"email": SOMEONE, "password": 12345678, "name": "Ada"}, "password"),
        # Shorter than the documented minLength: the policy check names it
        ({"email": SOMEONE, "password": "Sh0rt-A", "name": "Ada"}, "password"),
        ({"email": SOMEONE, "password": "", "name": "Ada"}, "password"),
    ],
)
def test_an_invalid_registration_is_a_422_naming_the_field(
    api_url: str, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(post(api_url, "/auth/register", body), 422, "validation-failed")
    assert field in [p["name"] for p in problem["invalidParams"]]


def test_confirming_an_unknown_email_is_an_invalid_code(api_url: str) -> None:
    response = post(api_url, "/auth/confirm", {"email": account_email("nobody"), "code": "123456"})
    assert_problem(response, 400, "invalid-code")


# -- login ------------------------------------------------------------------------------------


@pytest.mark.moto(ANY_CODE)
def test_a_wrong_password_and_an_unknown_email_get_the_same_401(
    api_url: str, account_emails: AccountEmails
) -> None:
    # Given a real account
    email = confirmed_account(api_url, account_emails)
    # When one login has a wrong password and another an email nobody registered
    wrong_password = assert_problem(log_in(api_url, email, "Wrong-Horse-7"), 401, "unauthorized")
    unknown_email = assert_problem(log_in(api_url, account_email("nobody")), 401, "unauthorized")
    # Then the answers differ only in the request's own correlation id

    def without_correlation(problem: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in problem.items() if k != "correlationId"}

    assert without_correlation(wrong_password) == without_correlation(unknown_email)


def test_an_unconfirmed_user_cannot_log_in(api_url: str, account_emails: AccountEmails) -> None:
    email = account_emails.new("auth")
    assert register(api_url, email).status_code == 201
    assert_problem(log_in(api_url, email), 403, "user-not-confirmed")


def test_a_garbage_refresh_token_is_a_401(api_url: str) -> None:
    response = post(api_url, "/auth/refresh", {"refreshToken": "not-a-refresh-token"})
    assert_problem(response, 401, "unauthorized")


def test_a_wrong_method_is_a_405(api_url: str) -> None:
    response = requests.get(f"{api_url}/auth/login", timeout=10)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


# -- password reset ---------------------------------------------------------------------------


@pytest.mark.moto(ANY_CODE)
def test_forgot_password_answers_the_same_for_unknown_emails(
    api_url: str, account_emails: AccountEmails
) -> None:
    known_email = confirmed_account(api_url, account_emails)
    known = post(api_url, "/auth/forgot-password", {"email": known_email})
    unknown = post(api_url, "/auth/forgot-password", {"email": account_email("nobody")})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""


@pytest.mark.moto(ANY_CODE)
def test_a_password_is_reset_with_the_emailed_code(
    api_url: str, account_emails: AccountEmails
) -> None:
    # Given an account that asked for a reset code
    email = confirmed_account(api_url, account_emails)
    assert post(api_url, "/auth/forgot-password", {"email": email}).status_code == 202

    def reset(code: str, new_password: str) -> requests.Response:
        body = {"email": email, "code": code, "newPassword": new_password}
        return post(api_url, "/auth/reset-password", body)

    # When a wrong code is sent (the emulator checks only codes of its own form)
    assert_problem(reset("moto-confirmation-code:0", NEW_PASSWORD), 400, "invalid-code")
    # Or a weak new password
    weak = assert_problem(reset("123456", "short"), 422, "validation-failed")
    assert [p["name"] for p in weak["invalidParams"]] == ["newPassword"]
    # Then the password is unchanged; with the right code and a good password it changes
    assert log_in(api_url, email).status_code == 200
    assert reset("123456", NEW_PASSWORD).status_code == 204
    assert log_in(api_url, email, NEW_PASSWORD).status_code == 200
    assert_problem(log_in(api_url, email), 401, "unauthorized")


# -- logout -----------------------------------------------------------------------------------


def test_logout_needs_a_token_at_the_gateway(api_url: str) -> None:
    response = post(api_url, "/auth/logout")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


@pytest.mark.moto(ANY_CODE)
def test_logout_takes_the_token_without_the_bearer_scheme_and_only_once(
    api_url: str, account_emails: AccountEmails
) -> None:
    email = confirmed_account(api_url, account_emails)
    access = log_in(api_url, email).json()["accessToken"]
    assert post(api_url, "/auth/logout", headers={"Authorization": access}).status_code == 204
    # The gateway still lets the token through; Cognito no longer knows it
    again = post(api_url, "/auth/logout", headers={"Authorization": f"Bearer {access}"})
    assert_problem(again, 401, "unauthorized")
