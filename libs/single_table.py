"""Single-table helpers: typed item codecs, key conditions and opaque page cursors."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from libs import json_patterns
from libs.problems import BadRequest
from libs.resources.table import MAIN_TABLE

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


# -- codecs ---------------------------------------------------------------------------------


def to_attribute(value: Any) -> AttributeValueTypeDef:
    """One Python value (as ``msgspec.to_builtins`` gives it) as a DynamoDB attribute."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {k: to_attribute(v) for k, v in value.items() if v is not None}}
    if isinstance(value, Sequence):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute as a plain Python value."""
    (kind, value), *_ = attribute.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return list(value)
    raise TypeError(f"unsupported DynamoDB type {kind}")


def to_item(record: msgspec.Struct, *, entity: str, **keys: str) -> Item:
    """A record plus its keys and ``entity`` as an item, expiring as ``entity`` is declared to.

    None fields are left out.
    """
    fields = msgspec.to_builtins(record)
    item: Item = {name: {"S": value} for name, value in keys.items()}
    item.update(kind_attributes(entity))
    item.update({name: to_attribute(v) for name, v in fields.items() if v is not None})
    return item


def kind_attributes(entity: str, *, now: float | None = None) -> Item:
    """``entity`` and, unless its kind is kept, ``expiresAt``: its declared lifetime from now."""
    lifetime = MAIN_TABLE.lifetime(entity)
    attributes: Item = {"entity": {"S": entity}}
    if lifetime.ttl_seconds is not None:
        expires_at = int(time.time() if now is None else now) + lifetime.ttl_seconds
        attributes[MAIN_TABLE.ttl_attribute] = {"N": str(expires_at)}
    return attributes


def from_item[T](item: Mapping[str, Any], record_type: type[T]) -> T:
    """A DynamoDB item decoded and validated as ``record_type`` (key attributes ignored)."""
    return msgspec.convert({k: from_attribute(v) for k, v in item.items()}, type=record_type)


def string_values(**values: str | int) -> dict[str, AttributeValueTypeDef]:
    """Expression attribute values from keyword arguments: ``:name`` → attribute."""
    return {f":{name}": to_attribute(value) for name, value in values.items()}


# -- pages and cursors ----------------------------------------------------------------------


class Page[T](msgspec.Struct, frozen=True):
    """One page of a listing and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


PageLimit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cursor = Annotated[str, msgspec.Meta(pattern=json_patterns.CURSOR)]


class PageQuery(msgspec.Struct, forbid_unknown_fields=True):
    """The query string of a listing: page size and where to continue.

    An empty ``cursor`` (``?cursor=``, as a form or a generated client sends it) is no cursor:
    the first page.
    """

    limit: PageLimit = 20
    cursor: Cursor | None = None

    def __post_init__(self) -> None:
        if self.cursor == "":
            self.cursor = None


def encode_cursor(key: Mapping[str, Any]) -> str:
    """An opaque cursor for the key of the last item of a page."""
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(cursor: str, key_names: Sequence[str], pinned: Mapping[str, str]) -> Item:
    """The start key in a cursor; 400 unless it has exactly ``key_names`` and ``pinned`` values.

    Pinning the partition stops a client from turning a cursor into a read of another partition.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=dict[str, dict[str, str]])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadRequest("The cursor is not one this API issued") from None
    well_formed = set(key) == set(key_names) and all(set(v) == {"S"} for v in key.values())
    if not well_formed or any(key[name]["S"] != value for name, value in pinned.items()):
        raise BadRequest("The cursor is not one this API issued")
    return {name: {"S": value["S"]} for name, value in key.items()}


def key_names(index: str | None = None) -> tuple[str, ...]:
    """The attributes a start key needs: the table's keys, plus the index's when querying one."""
    keys = [MAIN_TABLE.keys.partition, MAIN_TABLE.keys.sort]
    if index is not None:
        declared = MAIN_TABLE.index(index).keys
        keys += [declared.partition, declared.sort]
    return tuple(keys)


async def query_page(
    db: DynamoDBClient,
    *,
    table: str,
    partition: tuple[str, str],
    limit: int,
    cursor: str | None,
    index: str | None = None,
    sort_prefix: tuple[str, str] | None = None,
    newest_first: bool = False,
) -> Page[Item]:
    """One page of a partition, in sort-key order; asks for one extra item to know if more exist."""
    names = key_names(index)
    condition = "#pk = :pk"
    attribute_names = {"#pk": partition[0]}
    values = string_values(pk=partition[1])
    if sort_prefix is not None:
        condition += " AND begins_with(#sk, :sk)"
        attribute_names["#sk"] = sort_prefix[0]
        values.update(string_values(sk=sort_prefix[1]))
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": attribute_names,
        "ExpressionAttributeValues": values,
        "Limit": limit + 1,
        "ScanIndexForward": not newest_first,
    }
    if index is not None:
        request["IndexName"] = index
    if cursor is not None:
        request["ExclusiveStartKey"] = decode_cursor(cursor, names, {partition[0]: partition[1]})
    response = await db.query(**request)
    return _page(list(response.get("Items", [])), limit, names)


def _page(items: list[Item], limit: int, names: Sequence[str]) -> Page[Item]:
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    last = items[limit - 1]
    return Page(items=items[:limit], next_cursor=encode_cursor({n: last[n] for n in names}))
