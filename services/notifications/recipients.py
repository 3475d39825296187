"""What notifications read of a user's profile (the users service owns the item): the channel
preferences, and the phone, which the users service sealed (``libs/sealed_fields.py``).

Only the queue consumer imports this module: it alone opens the phone, and ships cryptography.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from libs.sealed_fields import FieldSealer, SealedValue, UnsealError
from libs.single_table import from_attribute
from libs.table_keys import as_key, profile_key
from services.notifications.models import Recipient

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_kms import KMSClient


class UnreadableProfile(Exception):
    """The user's profile item does not hold preferences (or a phone) this service can trust."""


class PhoneOpener(msgspec.Struct, frozen=True):
    """What opens the sealed phone of a profile: the container's sealer and its KMS client."""

    sealer: FieldSealer
    kms: KMSClient


async def recipient(db: DynamoDBClient, table: str, user_id: str, phones: PhoneOpener) -> Recipient:
    """The user's channel preferences and phone (the defaults when they saved no profile).

    Malformed preferences, or a phone that does not open for this user, raise
    UnreadableProfile: guessing could message someone who opted out, or someone else.
    """
    response = await db.get_item(
        TableName=table,
        Key=as_key(profile_key(user_id)),
        ProjectionExpression="preferences, phone",
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return Recipient()
    fields = {name: from_attribute(value) for name, value in item.items()}
    try:
        phone = fields.get("phone")
        if isinstance(phone, dict):  # sealed by the users service (a string: written before)
            sealed = msgspec.convert(phone, SealedValue)
            opened = await phones.sealer.open(phones.kms, sealed, owner=user_id, field="phone")
            fields["phone"] = msgspec.json.decode(opened)
        return msgspec.convert(fields, Recipient)
    except (msgspec.ValidationError, msgspec.DecodeError, UnsealError) as error:
        raise UnreadableProfile(f"the profile of {user_id} is malformed: {error}") from error
