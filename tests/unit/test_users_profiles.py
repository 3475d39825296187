"""Profile rules with fake AWS clients: the concurrent read, defaults, the order of deletion."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import msgspec
import pytest
from botocore.exceptions import ClientError

from libs.problems import NotFound
from libs.sealed_fields import FieldSealer
from services.users import profiles
from services.users.models import (
    Account,
    Address,
    Preferences,
    StoredProfile,
    UpdateProfile,
)
from services.users.profile_table import Sealing

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient

USER_ID = "0f4c2b1e-0000-4000-8000-000000000001"
ACCOUNT = Account(user_id=USER_ID, email="ada@example.com", email_verified=True, name="Ada")
COGNITO_USER = {
    "Username": USER_ID,
    "UserAttributes": [
        {"Name": "sub", "Value": USER_ID},
        {"Name": "email", "Value": "ada@example.com"},
        {"Name": "email_verified", "Value": "true"},
        {"Name": "name", "Value": "Ada"},
    ],
}
USER_NOT_FOUND = ClientError(
    {"Error": {"Code": "UserNotFoundException", "Message": "User does not exist."}},
    "AdminGetUser",
)


class Rendezvous:
    """Two calls that each announce their start, then wait for the other one's start."""

    def __init__(self) -> None:
        self.cognito_started = asyncio.Event()
        self.dynamodb_started = asyncio.Event()

    async def admin_get_user(self, **_: Any) -> dict[str, Any]:
        self.cognito_started.set()
        await self.dynamodb_started.wait()
        return COGNITO_USER

    async def get_item(self, **_: Any) -> dict[str, Any]:
        self.dynamodb_started.set()
        await self.cognito_started.wait()
        return {}


class Recorder:
    """Fake Cognito and DynamoDB clients that log their calls in one shared journal."""

    def __init__(self, journal: list[str], *, account_exists: bool = True) -> None:
        self.journal = journal
        self.account_exists = account_exists

    async def admin_get_user(self, **_: Any) -> dict[str, Any]:
        self.journal.append("AdminGetUser")
        if not self.account_exists:
            raise USER_NOT_FOUND
        return COGNITO_USER

    async def admin_delete_user(self, **_: Any) -> dict[str, Any]:
        self.journal.append("AdminDeleteUser")
        if not self.account_exists:
            raise USER_NOT_FOUND
        return {}

    async def get_item(self, **_: Any) -> dict[str, Any]:
        self.journal.append("GetItem")
        return {}

    async def update_item(self, **_: Any) -> dict[str, Any]:
        self.journal.append("UpdateItem")
        raise AssertionError("no write was expected")

    async def transact_write_items(self, **request: Any) -> dict[str, Any]:
        # The profile's deletion and its UserDeleted outbox item, in one transaction.
        kinds = [next(iter(item)) for item in request["TransactItems"]]
        assert kinds == ["Delete", "Put"]
        self.journal.append("TransactWriteItems")
        return {}


def sdk_clients(
    fake: Rendezvous | Recorder,
) -> tuple[CognitoIdentityProviderClient, DynamoDBClient]:
    """The fake in the place of both SDK clients: it answers every call the module makes."""
    return cast("CognitoIdentityProviderClient", fake), cast("DynamoDBClient", fake)


# No profile is stored in these tests: the sealer is never asked for a key.
NO_SEALING = Sealing(FieldSealer("unused"), cast("KMSClient", None))


def names(**clients: Any) -> dict[str, Any]:
    return {"pool_id": "pool", "table": "table", "user_id": USER_ID, **clients}


async def test_the_account_and_the_profile_are_read_concurrently() -> None:
    # Given fake clients whose calls can only finish once both have started
    both = Rendezvous()
    # When the profile is read (run one after the other, the first call would wait forever)
    profile = await asyncio.wait_for(
        profiles.read_profile(*sdk_clients(both), **names(), sealing=NO_SEALING),
        timeout=5,
    )
    # Then both calls ran at once and their answers were merged
    assert (profile.user_id, profile.email, profile.name) == (USER_ID, "ada@example.com", "Ada")


async def test_a_deleted_account_has_no_profile() -> None:
    journal: list[str] = []
    gone = Recorder(journal, account_exists=False)
    with pytest.raises(NotFound):
        await profiles.read_profile(*sdk_clients(gone), **names(), sealing=NO_SEALING)


async def test_a_deleted_account_cannot_save_a_profile() -> None:
    # Given a token whose Cognito account was deleted
    journal: list[str] = []
    gone = Recorder(journal, account_exists=False)
    # When it updates the profile
    with pytest.raises(NotFound):
        await profiles.update_profile(
            *sdk_clients(gone),
            **names(change=UpdateProfile(version=0, name="Ghost")),
            sealing=NO_SEALING,
        )
    # Then nothing was written
    assert journal == ["AdminGetUser"]


async def test_deletion_removes_the_profile_before_the_account() -> None:
    journal: list[str] = []
    clients = Recorder(journal)
    removed = await profiles.delete_account(*sdk_clients(clients), **names())
    assert removed
    assert journal == ["TransactWriteItems", "AdminDeleteUser"]


async def test_deleting_again_succeeds_without_removing_anything() -> None:
    # Given an account already deleted by an earlier call
    journal: list[str] = []
    gone = Recorder(journal, account_exists=False)
    # When the deletion is retried
    removed = await profiles.delete_account(*sdk_clients(gone), **names())
    # Then it completes, reporting that this call removed nothing
    assert not removed
    assert journal == ["TransactWriteItems", "AdminDeleteUser"]


def test_without_a_stored_profile_the_defaults_apply() -> None:
    profile = profiles.merged_profile(ACCOUNT, None)
    assert profile.name == "Ada"
    assert profile.preferences == Preferences(email=True, sms=False)
    assert (profile.phone, profile.address, profile.version) == (None, None, 0)
    assert (profile.created_at, profile.updated_at) == (None, None)


def test_stored_values_win_and_the_name_falls_back_to_cognito() -> None:
    address = Address(line1="1 Main St", city="Lisbon", postal_code="1000-001", country="PT")
    stored = StoredProfile(
        user_id=USER_ID,
        phone="+351912345678",
        address=address,
        preferences=Preferences(email=False, sms=True),
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-02T00:00:00.000Z",
        version=3,
    )
    profile = profiles.merged_profile(ACCOUNT, stored)
    assert profile.name == "Ada"  # none stored: Cognito's
    assert (profile.phone, profile.address, profile.version) == ("+351912345678", address, 3)
    assert profile.preferences == Preferences(email=False, sms=True)
    renamed = profiles.merged_profile(ACCOUNT, msgspec.structs.replace(stored, name="A."))
    assert renamed.name == "A."
