"""Cognito users for the tests, each deleted at teardown, so a deployed stage's pool keeps none;
and the addresses they get on each backend."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import jwt
import pytest

from libs.resources.user_pool import ADMIN_GROUP
from tests.suite_target import target
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient


PASSWORD = "Correct-Horse-7"

# The domain of test accounts' addresses: reserved by RFC 2606, nobody's mailbox. A deployed
# stage never emails one: a bounce there would still count against the AWS account.
TEST_EMAIL_DOMAIN: Final = "example.com"
TEST_EMAIL_PATTERN: Final = f"{{id}}@{TEST_EMAIL_DOMAIN}"
# EMULATOR=aws: the users the tests make (no Cognito email) get SES mailbox-simulator addresses,
# so the notifications they cause are accepted (also in SES's sandbox), neither bounce nor count
# against the sending quota, and reach nobody.
SES_SIMULATOR_PATTERN: Final = "success+{id}@simulator.amazonses.com"
# EMULATOR=aws: a mailbox of yours for the accounts Cognito emails (sign-up, forgot-password),
# as a pattern whose {id} each such account replaces, e.g. me+{id}@mydomain.com.
E2E_EMAIL: Final = "E2E_EMAIL"

# Deleting a session's users concurrently, within Cognito's per-second quota.
_DELETIONS_AT_ONCE: Final = 8


@dataclass
class SignedInUser:
    """A confirmed Cognito user with fresh tokens."""

    email: str
    user_id: str
    access_token: str
    id_token: str
    refresh_token: str
    groups: tuple[str, ...] = field(default=())

    @property
    def headers(self) -> dict[str, str]:
        """Headers of an authenticated JSON request."""
        return {"Authorization": f"Bearer {self.access_token}"}


UserFactory = Callable[..., Awaitable[SignedInUser]]


def account_email(label: str, pattern: str = TEST_EMAIL_PATTERN) -> str:
    """A new address: ``pattern`` with ``{id}`` replaced by ``label`` and a random suffix."""
    return pattern.replace("{id}", f"{label}-{uuid.uuid4().hex[:10]}")


def mailbox_pattern(kind: str, configured: str | None) -> str:
    """The address pattern of accounts Cognito will email on backend ``kind``, or a skip.

    Emulators send no email: test-domain addresses do. A deployed stage sends it, so only to
    the mailbox of whoever runs the tests, as the ``E2E_EMAIL`` pattern (``configured``) says.
    """
    if kind != "aws":
        return TEST_EMAIL_PATTERN
    if not configured:
        pytest.skip(
            "makes Cognito send an email (sign-up or reset code), which EMULATOR=aws sends "
            f"only to a mailbox of yours: set {E2E_EMAIL} to an address pattern such as "
            "me+{id}@mydomain.com to run it"
        )
    if configured.count("{id}") != 1 or "@" not in configured.partition("{id}")[2]:
        raise pytest.UsageError(
            f"{E2E_EMAIL} must be an email address with {{id}} once before the @, "
            f"e.g. me+{{id}}@mydomain.com; it is {configured!r}"
        )
    # The auth API registers an email in lower case: the tests' addresses match what it stores.
    return configured.lower()


def made_users_pattern(kind: str) -> str:
    """The address pattern of users made through the admin API on backend ``kind``."""
    return SES_SIMULATOR_PATTERN if kind == "aws" else TEST_EMAIL_PATTERN


class AccountEmails:
    """Addresses for the accounts one test registers; the fixture deletes those accounts."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.issued: list[str] = []

    def new(self, label: str) -> str:
        """A new address to register an account with (Cognito emails it on a deployed stage)."""
        address = account_email(label, self.pattern)
        self.issued.append(address)
        return address


async def delete_users(
    cognito: CognitoIdentityProviderClient, pool_id: str, emails: Iterable[str]
) -> None:
    """Delete the pool's users of ``emails``; one already gone (its test deleted it) is fine."""
    at_once = asyncio.Semaphore(_DELETIONS_AT_ONCE)

    async def delete(email: str) -> None:
        async with at_once:
            with contextlib.suppress(cognito.exceptions.UserNotFoundException):
                await cognito.admin_delete_user(UserPoolId=pool_id, Username=email)

    # The auth API registers an email in lower case. Every deletion is tried before a failure
    # is raised, so one refusal leaves no other user behind.
    unique = dict.fromkeys(email.lower() for email in emails)
    outcomes = await asyncio.gather(*map(delete, unique), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]


@pytest.fixture
async def account_emails(
    stack: SystemUnderTest, cognito: CognitoIdentityProviderClient
) -> AsyncIterator[AccountEmails]:
    """Addresses for a test that registers accounts (skipped on aws without ``E2E_EMAIL``).

    Registering makes Cognito email a code; every account registered is deleted afterwards.
    """
    emails = AccountEmails(mailbox_pattern(target().kind, os.environ.get(E2E_EMAIL)))
    yield emails
    await delete_users(cognito, stack.outputs.user_pool_id, emails.issued)


@pytest.fixture(scope="session")
async def make_user(
    stack: SystemUnderTest, cognito: CognitoIdentityProviderClient
) -> AsyncIterator[UserFactory]:
    """Create confirmed users through Cognito's admin API and log them in; deleted at the end.

    They are created with no message (``SUPPRESS``): Cognito emails nobody. On a deployed stage
    their addresses are SES's mailbox simulator, where the notifications service's emails go.
    """
    pool_id = stack.outputs.user_pool_id
    client_id = stack.outputs.user_pool_client_id
    created: list[str] = []

    async def create(*groups: str) -> SignedInUser:
        email = account_email("user", made_users_pattern(target().kind))
        created.append(email)  # before the call: a user half set up is deleted too
        await cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        await cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            await cognito.admin_add_user_to_group(
                UserPoolId=pool_id, Username=email, GroupName=group
            )
        tokens = (
            await cognito.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
            )
        )["AuthenticationResult"]
        claims = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
        return SignedInUser(
            email=email,
            user_id=claims["sub"],
            access_token=tokens["AccessToken"],
            id_token=tokens["IdToken"],
            refresh_token=tokens["RefreshToken"],
            groups=groups,
        )

    yield create
    await delete_users(cognito, pool_id, created)


@pytest.fixture(scope="session")
async def admin(make_user: UserFactory) -> SignedInUser:
    """A member of the admin group."""
    return await make_user(ADMIN_GROUP)


@pytest.fixture
async def alice(make_user: UserFactory) -> SignedInUser:
    """A fresh customer for one test."""
    return await make_user()


@pytest.fixture
async def bob(make_user: UserFactory) -> SignedInUser:
    """Another fresh customer, to prove isolation."""
    return await make_user()
