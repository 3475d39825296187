"""Personal fields sealed under the emulator's KMS: nothing readable at rest, values bound to
their user and field, data keys reused within their bounds, old values readable after rotation."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from libs.domain_events import utc_now
from libs.sealed_fields import FieldSealer, UnsealError
from libs.single_table import from_attribute
from libs.table_keys import as_key, profile_key
from services.users import profile_table
from services.users.models import Address, UpdateProfile
from services.users.profile_table import Sealing

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient

    from tests.system_under_test import SystemUnderTest

pytestmark = pytest.mark.integration

PHONE = "+351912345678"
LISBON = Address(line1="1 Rua Augusta", city="Lisbon", postal_code="1100-048", country="PT")
PLAINTEXTS = ("Ada Lovelace", PHONE, "Rua Augusta", "Lisbon", "1100-048")


class CountingKms:
    """The real KMS client, counting the calls made through it."""

    def __init__(self, kms: KMSClient) -> None:
        self.kms = kms
        self.calls: list[str] = []
        self.exceptions = kms.exceptions

    async def generate_data_key(self, **request: Any) -> Any:
        self.calls.append("GenerateDataKey")
        return await self.kms.generate_data_key(**request)

    async def decrypt(self, **request: Any) -> Any:
        self.calls.append("Decrypt")
        return await self.kms.decrypt(**request)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_arn(stack: SystemUnderTest) -> str:
    return stack.outputs.pii_key_arn


async def save_all(db: DynamoDBClient, table: str, user: str, sealing: Sealing) -> None:
    change = UpdateProfile(version=0, name="Ada Lovelace", phone=PHONE, address=LISBON)
    await profile_table.update_profile(db, table, user, change, sealing, now=utc_now())


async def raw_item(db: DynamoDBClient, table: str, user: str) -> dict[str, Any]:
    response = await db.get_item(TableName=table, Key=as_key(profile_key(user)))
    return response["Item"]


async def test_a_raw_read_of_a_saved_profile_finds_no_personal_value(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given a profile saved with a name, a phone and an address
    user = str(uuid.uuid4())
    await save_all(dynamodb, table_name, user, Sealing(FieldSealer(key_arn), kms))
    # When the item is read as stored, bypassing the service
    item = await raw_item(dynamodb, table_name, user)
    # Then none of the values appears in it, and each field holds what opening it needs
    stored = json.dumps(item)
    assert not [value for value in PLAINTEXTS if value in stored]
    for field in ("name", "phone", "address"):
        sealed = from_attribute(item[field])
        assert sealed["keyId"] == key_arn
        assert sealed["algorithm"] == "AES-256-GCM"
        assert {"ciphertext", "nonce", "encryptedKey"} <= set(sealed)


async def test_a_sealed_phone_copied_onto_another_users_item_does_not_open(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given two users' profiles, sealed with the same data key
    sealing = Sealing(FieldSealer(key_arn), kms)
    victim, thief = str(uuid.uuid4()), str(uuid.uuid4())
    await save_all(dynamodb, table_name, victim, sealing)
    await save_all(dynamodb, table_name, thief, sealing)
    # When the victim's sealed phone is copied onto the thief's item
    copied = (await raw_item(dynamodb, table_name, victim))["phone"]
    await set_field(dynamodb, table_name, thief, "phone", copied)
    # Then reading the thief's profile fails instead of showing the victim's phone
    with pytest.raises(UnsealError):
        await profile_table.get_profile(dynamodb, table_name, thief, sealing)


async def test_a_sealed_value_moved_to_another_field_does_not_open(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given a profile; when its sealed name is copied into its phone field
    sealing = Sealing(FieldSealer(key_arn), kms)
    user = str(uuid.uuid4())
    await save_all(dynamodb, table_name, user, sealing)
    await set_field(
        dynamodb, table_name, user, "phone", (await raw_item(dynamodb, table_name, user))["name"]
    )
    # Then the profile does not read
    with pytest.raises(UnsealError):
        await profile_table.get_profile(dynamodb, table_name, user, sealing)


async def set_field(db: DynamoDBClient, table: str, user: str, field: str, value: Any) -> None:
    await db.update_item(
        TableName=table,
        Key=as_key(profile_key(user)),
        UpdateExpression="SET #f = :v",
        ExpressionAttributeNames={"#f": field},
        ExpressionAttributeValues={":v": value},
    )


async def test_a_warm_container_seals_and_opens_without_calling_kms(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given a container that saved one profile (its first data key: one GenerateDataKey)
    counting = CountingKms(kms)
    sealing = Sealing(FieldSealer(key_arn), counting)  # type: ignore[arg-type]
    await save_all(dynamodb, table_name, str(uuid.uuid4()), sealing)
    assert counting.calls == ["GenerateDataKey"]
    # When it saves and reads more profiles
    for _ in range(5):
        user = str(uuid.uuid4())
        await save_all(dynamodb, table_name, user, sealing)
        assert await profile_table.get_profile(dynamodb, table_name, user, sealing) is not None
    # Then KMS was not called again
    assert counting.calls == ["GenerateDataKey"]


async def test_a_data_key_is_replaced_after_its_age_or_its_uses(
    kms: KMSClient, key_arn: str
) -> None:
    # Given a sealer whose data keys last a minute or three values
    counting = CountingKms(kms)
    clock = Clock()
    sealer = FieldSealer(key_arn, max_age_seconds=60, max_uses=3, clock=clock)
    client: Any = counting
    # When it seals three values, a fourth, then another a minute later
    first = [await sealer.seal(client, b"x", owner="u", field="f") for _ in range(3)]
    fourth = await sealer.seal(client, b"x", owner="u", field="f")
    clock.now = 60
    later = await sealer.seal(client, b"x", owner="u", field="f")
    # Then the first three share a data key, the fourth (over the uses) and the last (over the
    # age) each got a new one
    assert len({value.encrypted_key for value in first}) == 1
    assert len({first[0].encrypted_key, fourth.encrypted_key, later.encrypted_key}) == 3
    assert counting.calls == ["GenerateDataKey"] * 3


async def test_values_sealed_before_a_key_rotation_stay_readable(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given a profile sealed before the KMS key rotated
    user = str(uuid.uuid4())
    await save_all(dynamodb, table_name, user, Sealing(FieldSealer(key_arn), kms))
    before = from_attribute((await raw_item(dynamodb, table_name, user))["phone"])
    # When the key rotates, and a new container (a new data key) saves another profile
    await kms.rotate_key_on_demand(KeyId=key_arn)
    rotations = (await kms.list_key_rotations(KeyId=key_arn))["Rotations"]
    assert rotations
    fresh = Sealing(FieldSealer(key_arn), kms)
    other = str(uuid.uuid4())
    await save_all(dynamodb, table_name, other, fresh)
    after = from_attribute((await raw_item(dynamodb, table_name, other))["phone"])
    # Then the new value has a data key of its own, and the old profile still opens
    assert after["encryptedKey"] != before["encryptedKey"]
    stored = await profile_table.get_profile(dynamodb, table_name, user, fresh)
    assert stored is not None
    assert (stored.name, stored.phone, stored.address) == ("Ada Lovelace", PHONE, LISBON)


async def test_a_value_written_before_sealing_is_read_as_it_is(
    dynamodb: DynamoDBClient, table_name: str, kms: KMSClient, key_arn: str
) -> None:
    # Given a profile item written in clear, as before fields were sealed
    user = str(uuid.uuid4())
    sealing = Sealing(FieldSealer(key_arn), kms)
    await save_all(dynamodb, table_name, user, sealing)
    await dynamodb.update_item(
        TableName=table_name,
        Key=as_key(profile_key(user)),
        UpdateExpression="SET phone = :p",
        ExpressionAttributeValues={":p": {"S": PHONE}},
    )
    # When it is read, then the clear value is returned as it is
    stored = await profile_table.get_profile(dynamodb, table_name, user, sealing)
    assert stored is not None
    assert stored.phone == PHONE
