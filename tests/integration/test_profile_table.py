"""Profiles' data access against the emulator's DynamoDB: merges guarded by the version."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from libs.domain_events import UserDeleted, utc_now
from libs.problems import Conflict
from libs.sealed_fields import FieldSealer
from libs.single_table import from_attribute
from libs.table_keys import as_key, profile_key
from services.users import profile_table
from services.users.models import Address, PreferenceChanges, Preferences, UpdateProfile
from services.users.profile_table import Sealing

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient

    from tests.system_under_test import SystemUnderTest

pytestmark = pytest.mark.integration

LISBON = Address(line1="1 Main St", city="Lisbon", postal_code="1000-001", country="PT")


def a_user() -> str:
    return str(uuid.uuid4())


async def raw_item(db: DynamoDBClient, table: str, user_id: str) -> dict[str, Any] | None:
    response = await db.get_item(
        TableName=table, Key=as_key(profile_key(user_id)), ConsistentRead=True
    )
    item = response.get("Item")
    return {k: from_attribute(v) for k, v in item.items()} if item else None


@pytest.fixture(scope="module")
def sealing(stack: SystemUnderTest, kms: KMSClient) -> Sealing:
    return Sealing(FieldSealer(stack.outputs.pii_key_arn), kms)


async def save(
    db: DynamoDBClient, table: str, user_id: str, sealing: Sealing, **change: Any
) -> Any:
    return await profile_table.update_profile(
        db, table, user_id, UpdateProfile(**change), sealing, now=utc_now()
    )


async def test_the_first_write_creates_the_item_with_default_preferences(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    user = a_user()
    assert await profile_table.get_profile(dynamodb, table_name, user, sealing) is None
    # When the first update sets only a name and the sms flag
    saved = await save(
        dynamodb,
        table_name,
        user,
        sealing,
        version=0,
        name="Ada",
        preferences=PreferenceChanges(sms=True),
    )
    # Then the item holds them, the other flag's default and version 1, the name sealed
    assert saved.version == 1
    assert saved.preferences == Preferences(email=True, sms=True)
    item = await raw_item(dynamodb, table_name, user)
    assert item is not None
    assert set(item.pop("name")) == {"ciphertext", "nonce", "encryptedKey", "keyId", "algorithm"}
    assert item == {
        "PK": f"USER#{user}",
        "SK": "PROFILE",
        "entity": "Profile",
        "userId": user,
        "preferences": {"email": True, "sms": True},
        "createdAt": saved.created_at,
        "updatedAt": saved.updated_at,
        "version": 1,
    }


async def test_an_update_merges_present_fields_and_clears_null_ones(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    # Given a profile with a name, a phone, an address and default preferences
    user = a_user()
    first = await save(
        dynamodb,
        table_name,
        user,
        sealing,
        version=0,
        name="Ada",
        phone="+351912345678",
        address=LISBON,
    )
    # When an update clears the phone, changes one flag and says nothing of the rest
    saved = await save(
        dynamodb,
        table_name,
        user,
        sealing,
        version=1,
        phone=None,
        preferences=PreferenceChanges(email=False),
    )
    # Then only those changed, and the version moved on
    assert (saved.name, saved.phone, saved.address) == ("Ada", None, LISBON)
    assert saved.preferences == Preferences(email=False, sms=False)
    assert (saved.version, saved.created_at) == (2, first.created_at)
    assert await profile_table.get_profile(dynamodb, table_name, user, sealing) == saved


@pytest.mark.parametrize("stale", [0, 1, 3])
async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    dynamodb: DynamoDBClient, table_name: str, stale: int, sealing: Sealing
) -> None:
    # Given a profile at version 2
    user = a_user()
    await save(dynamodb, table_name, user, sealing, version=0, name="Ada")
    await save(dynamodb, table_name, user, sealing, version=1, phone="+351912345678")
    before = await raw_item(dynamodb, table_name, user)
    # When an update claims another version
    with pytest.raises(Conflict):
        await save(dynamodb, table_name, user, sealing, version=stale, name="Mallory")
    # Then the item is untouched
    assert await raw_item(dynamodb, table_name, user) == before


async def test_a_version_for_a_profile_that_does_not_exist_creates_nothing(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    user = a_user()
    with pytest.raises(Conflict):
        await save(
            dynamodb, table_name, user, sealing, version=1, preferences=PreferenceChanges(sms=True)
        )
    assert await raw_item(dynamodb, table_name, user) is None


async def test_of_two_updates_from_one_version_exactly_one_wins(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    # Given a profile at version 1
    user = a_user()
    await save(dynamodb, table_name, user, sealing, version=0)
    # When two clients that both read version 1 save at the same time
    outcomes = await asyncio.gather(
        save(dynamodb, table_name, user, sealing, version=1, name="First"),
        save(dynamodb, table_name, user, sealing, version=1, name="Second"),
        return_exceptions=True,
    )
    # Then one is stored and the other is told it is stale
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    stored = await profile_table.get_profile(dynamodb, table_name, user, sealing)
    assert stored == winners[0]
    assert stored is not None
    assert stored.version == 2


async def test_deleting_a_profile_twice_succeeds(
    dynamodb: DynamoDBClient, table_name: str, sealing: Sealing
) -> None:
    user = a_user()
    await save(dynamodb, table_name, user, sealing, version=0, name="Ada")
    await profile_table.delete_profile(dynamodb, table_name, user, UserDeleted(user_id=user))
    await profile_table.delete_profile(dynamodb, table_name, user, UserDeleted(user_id=user))
    assert await profile_table.get_profile(dynamodb, table_name, user, sealing) is None
