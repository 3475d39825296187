"""Users' access to the single table: the profile item ``USER#<id> / PROFILE``.

The personal fields (name, phone, address) are stored sealed (``libs/sealed_fields.py``), each
bound to its user and field; the rest (version, dates, preferences) in clear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET

from libs.domain_events import DomainEvent
from libs.outbox import outbox_put
from libs.problems import Conflict
from libs.sealed_fields import FieldSealer, SealedValue
from libs.single_table import Item, from_attribute, to_attribute
from libs.table_keys import PK, as_key, profile_key
from libs.transactions import transact_write
from services.users.models import Preferences, StoredProfile, UpdateProfile

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef
    from types_aiobotocore_kms import KMSClient

ENTITY = "Profile"
# Body fields stored sealed, one attribute each, replaced when present and removed when null.
PERSONAL_FIELDS = tuple(
    f for f in msgspec.structs.fields(UpdateProfile) if f.name in {"name", "phone", "address"}
)


class _UpdateExpression(msgspec.Struct):
    """SET and REMOVE clauses of an UpdateItem, with every name and value as a placeholder."""

    names: dict[str, str] = msgspec.field(default_factory=dict)
    values: dict[str, AttributeValueTypeDef] = msgspec.field(default_factory=dict)
    sets: list[str] = msgspec.field(default_factory=list)
    removes: list[str] = msgspec.field(default_factory=list)

    def path(self, *parts: str) -> str:
        """A document path such as ``#preferences.#sms``."""
        self.names.update({f"#{part}": part for part in parts})
        return ".".join(f"#{part}" for part in parts)

    def value(self, placeholder: str, value: Any) -> str:
        """A value placeholder such as ``:expected``."""
        self.values[f":{placeholder}"] = to_attribute(value)
        return f":{placeholder}"

    def set(self, *parts: str, value: Any) -> None:
        """Set the attribute at ``parts`` to ``value``."""
        self.sets.append(f"{self.path(*parts)} = {self.value('_'.join(parts), value)}")

    def set_once(self, name: str, value: Any) -> None:
        """Set ``name`` to ``value`` unless the item already has it."""
        path = self.path(name)
        self.sets.append(f"{path} = if_not_exists({path}, {self.value(name, value)})")

    def remove(self, name: str) -> None:
        """Remove the attribute ``name``."""
        self.removes.append(self.path(name))

    @property
    def expression(self) -> str:
        """The UpdateExpression."""
        removes = f" REMOVE {', '.join(self.removes)}" if self.removes else ""
        return f"SET {', '.join(self.sets)}{removes}"


class Sealing(msgspec.Struct, frozen=True):
    """What seals and opens the personal fields: the container's sealer and its KMS client."""

    sealer: FieldSealer
    kms: KMSClient


async def to_profile(item: Item, user_id: str, sealing: Sealing) -> StoredProfile:
    """``user_id``'s profile item decoded, its personal fields opened (key attributes ignored).

    A field that does not open for this user raises ``UnsealError``; a plain string is a value
    written before fields were sealed, read as it is (the next update of that field seals it).
    """
    fields = {name: from_attribute(value) for name, value in item.items()}
    for personal in PERSONAL_FIELDS:
        stored = fields.get(personal.encode_name)
        if isinstance(stored, dict):
            sealed = msgspec.convert(stored, SealedValue)
            opened = await sealing.sealer.open(
                sealing.kms, sealed, owner=user_id, field=personal.encode_name
            )
            fields[personal.encode_name] = msgspec.json.decode(opened)
    return msgspec.convert(fields, StoredProfile)


async def get_profile(
    db: DynamoDBClient, table: str, user_id: str, sealing: Sealing
) -> StoredProfile | None:
    """A user's stored profile, or None before their first update."""
    response = await db.get_item(
        TableName=table, Key=as_key(profile_key(user_id)), ConsistentRead=True
    )
    item = response.get("Item")
    return await to_profile(item, user_id, sealing) if item else None


async def update_profile(
    db: DynamoDBClient,
    table: str,
    user_id: str,
    change: UpdateProfile,
    sealing: Sealing,
    *,
    now: str,
) -> StoredProfile:
    """Apply the fields present in ``change`` if the stored version is still ``change.version``.

    One conditional UpdateItem, so the merge cannot lose a concurrent write; a stale version
    (including 0 when a profile exists) raises Conflict and writes nothing. Personal fields are
    sealed before they leave the function.
    """
    update = _UpdateExpression()
    update.set("version", value=change.version + 1)
    update.set("updatedAt", value=now)
    update.set_once("createdAt", now)
    update.set("userId", value=user_id)
    update.set("entity", value=ENTITY)
    for personal in PERSONAL_FIELDS:
        value = getattr(change, personal.name)
        if value is None:
            update.remove(personal.encode_name)
        elif value is not UNSET:
            sealed = await sealing.sealer.seal(
                sealing.kms,
                msgspec.json.encode(value),
                owner=user_id,
                field=personal.encode_name,
            )
            update.set(personal.encode_name, value=msgspec.to_builtins(sealed))
    flags: dict[str, bool] = (
        {} if change.preferences is UNSET else msgspec.to_builtins(change.preferences)
    )
    if change.version == 0:
        # The first write stores the whole map, so later writes can set a single flag in it.
        preferences = msgspec.structs.replace(Preferences(), **flags)
        update.set("preferences", value=msgspec.to_builtins(preferences))
        condition = f"attribute_not_exists({update.path(PK)})"
    else:
        for flag, enabled in flags.items():
            update.set("preferences", flag, value=enabled)
        condition = f"{update.path('version')} = {update.value('expected', change.version)}"
    try:
        response = await db.update_item(
            TableName=table,
            Key=as_key(profile_key(user_id)),
            UpdateExpression=update.expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
        )
    except db.exceptions.ConditionalCheckFailedException:
        raise Conflict(
            f"The profile is no longer at version {change.version}; read it again"
        ) from None
    return await to_profile(response["Attributes"], user_id, sealing)


async def delete_profile(
    db: DynamoDBClient, table: str, user_id: str, announcement: DomainEvent
) -> None:
    """Delete a user's profile and record ``announcement`` in the outbox, in one transaction.

    Deleting a profile that is already gone succeeds (and records the event again). Nothing
    here has a business condition: a cancellation is what ``transact_write`` raises.
    """
    await transact_write(
        db,
        [
            {"Delete": {"TableName": table, "Key": as_key(profile_key(user_id))}},
            outbox_put(table, announcement),
        ],
    )
