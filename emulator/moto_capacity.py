"""DynamoDB capacity as AWS counts it, for moto, which answers a fixed figure.

Asked for ``ReturnConsumedCapacity``, moto answers 1.0 or 0.5 whatever the operation read or
wrote (and nothing for some operations). Here each DynamoDB action's answer carries what AWS
would have charged, computed from the sizes of the items involved by AWS's rules:

- item size: attribute names plus values (strings and binaries by their bytes, a number one byte
  per two significant digits plus one, a list or map 3 bytes plus 1 per element);
- a read: one unit per 4 KB started, half for an eventually consistent read; a Query or Scan
  adds up every item it read, then rounds once; each item of a BatchGetItem rounds by itself;
- a write: one unit per 1 KB started of the larger of the item before and after, at least one;
  each global secondary index the item enters, leaves or changes in is one more write of its
  size (two when its key changes: a delete and a put);
- a transaction: twice the units of the same reads or writes (its index writes are not doubled).

Sizes are read from moto's own table before and after the action, so a response is exactly
what the action did. Relies on moto serving one DynamoDB request at a time
(``emulator.backends`` serializes them).
"""

from __future__ import annotations

import base64
import functools
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

READ_UNIT_BYTES: Final = 4096
WRITE_UNIT_BYTES: Final = 1024
_LIST_OR_MAP_OVERHEAD: Final = 3
_ELEMENT_OVERHEAD: Final = 1
_PATCH_LOCK = threading.Lock()

# -- the rules (pure) ---------------------------------------------------------------------------


def value_size(value: Any) -> int:
    """Bytes of one attribute value, in DynamoDB's wire form (``{"S": "..."}``) or moto's."""
    kind, content = _typed(value)
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return number_size(str(content))
    if kind == "B":
        return _binary_size(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(member).encode()) for member in content)
    if kind == "NS":
        return sum(number_size(str(member)) for member in content)
    if kind == "BS":
        return sum(_binary_size(member) for member in content)
    if kind == "L":
        return _LIST_OR_MAP_OVERHEAD + sum(_ELEMENT_OVERHEAD + value_size(v) for v in content)
    if kind == "M":
        return _LIST_OR_MAP_OVERHEAD + sum(
            _ELEMENT_OVERHEAD + len(name.encode()) + value_size(v) for name, v in content.items()
        )
    raise ValueError(f"not an attribute value: {value!r}")


@functools.lru_cache(maxsize=4096)  # the same prices, quantities and times recur on every page
def number_size(text: str) -> int:
    """A number's bytes: one per two significant digits (zeros at either end dropped), plus one."""
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        return len(text)
    significant = "".join(map(str, digits)).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def item_size(attributes: Mapping[str, Any]) -> int:
    """Bytes of an item: every attribute's name and value."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read units of reading ``size`` bytes at once: 4 KB each, at least one; half if eventually
    consistent, twice in a transaction."""
    units = float(max(1, math.ceil(size / READ_UNIT_BYTES)))
    if transactional:
        return 2 * units
    return units if consistent else units / 2


def write_units(size: int, *, transactional: bool = False) -> float:
    """Write units of writing an item of ``size`` bytes: 1 KB each, at least one; twice in a
    transaction."""
    units = float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))
    return 2 * units if transactional else units


def index_write_units(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    index_keys: Iterable[tuple[str, ...]],
) -> float:
    """Write units the global secondary indexes (all attributes projected) take for one write.

    An item enters an index when it gets the index's key attributes, leaves it when it loses
    them, and is rewritten there when it changes while it stays in: one write of its size each,
    two when the index key itself changes.
    """
    old: Mapping[str, Any] = before or {}
    new: Mapping[str, Any] = after or {}
    units = 0.0
    for keys in index_keys:
        was = before is not None and all(key in old for key in keys)
        is_ = after is not None and all(key in new for key in keys)
        if was and is_:
            if old == new:
                continue
            units += write_units(item_size(new))
            if any(_typed(old[key]) != _typed(new[key]) for key in keys):
                units += write_units(item_size(old))  # the key moved: a delete and a put
        elif is_:
            units += write_units(item_size(new))
        elif was:
            units += write_units(item_size(old))
    return units


def item_write_units(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    index_keys: Iterable[tuple[str, ...]],
    *,
    transactional: bool = False,
) -> float:
    """Units of one Put, Update or Delete: the table's write, then its indexes'."""
    size = max(item_size(before or {}), item_size(after or {}))
    return write_units(size, transactional=transactional) + index_write_units(
        before, after, index_keys
    )


def _typed(value: Any) -> tuple[str, Any]:
    """(type, content) of a wire-form value or of a moto DynamoType."""
    if type(value) is not dict:
        kind = getattr(value, "type", None)
        if isinstance(kind, str):  # a DynamoType (checked first: no Mapping, and this is cheaper)
            return kind, value.value
    ((kind, content),) = value.items()
    return kind, content


def _binary_size(content: Any) -> int:
    if isinstance(content, bytes | bytearray):
        return len(content)
    return len(base64.b64decode(content))


# -- moto ---------------------------------------------------------------------------------------


def count_capacity_like_aws() -> None:
    """Make moto's DynamoDB answers carry the capacity AWS would report; idempotent."""
    from moto.dynamodb.responses import DynamoHandler

    actions: dict[str, Callable[..., Any]] = {
        "get_item": _get_item,
        "batch_get_item": _batch_get_item,
        "query": _query,
        "scan": _query,
        "put_item": _put_item,
        "update_item": _update_item,
        "delete_item": _delete_item,
        "batch_write_item": _batch_write_item,
        "transact_write_items": _transact_write_items,
        "transact_get_items": _transact_get_items,
    }
    with _PATCH_LOCK:
        if getattr(DynamoHandler.get_item, "_emulator_capacity", False):
            return
        for name, measure in actions.items():
            setattr(DynamoHandler, name, _measured(getattr(DynamoHandler, name), measure))


Measure = Callable[["DynamoHandler", Callable[[], Any]], tuple[Any, dict[str, float]]]


def _measured(action: Callable[..., Any], measure: Measure) -> Callable[..., Any]:
    @functools.wraps(action)
    def measured(handler: DynamoHandler) -> Any:
        asked = handler.body.get("ReturnConsumedCapacity", "NONE")
        if asked not in ("TOTAL", "INDEXES"):
            return action(handler)
        result, units_by_table = measure(handler, lambda: action(handler))
        body = result.result
        consumed = [
            {"TableName": table, "CapacityUnits": units} for table, units in units_by_table.items()
        ]
        if handler.body.get("TableName") is not None and len(consumed) == 1:
            body["ConsumedCapacity"] = consumed[0]
        else:
            body["ConsumedCapacity"] = consumed
        return result

    measured._emulator_capacity = True  # type: ignore[attr-defined]
    return measured


def _table(handler: DynamoHandler, name: str) -> Table:
    return handler.dynamodb_backend.get_table(name)


def _stored(table: Table, attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item with the key in ``attributes`` as the table holds it (wire form), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = attributes.get(table.hash_key_attr)
    if hash_value is None:
        return None
    range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
    item: Item | None = table.get_item(
        DynamoType(_plain(hash_value)),
        DynamoType(_plain(range_value)) if range_value is not None else None,
    )
    return None if item is None else dict(item.attrs)


def _plain(value: Any) -> dict[str, Any]:
    kind, content = _typed(value)
    return {kind: content}


def _index_keys(table: Table) -> list[tuple[str, ...]]:
    return [
        tuple(key["AttributeName"] for key in index.schema) for index in table.global_indexes or ()
    ]


def _get_item(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    name = handler.body["TableName"]
    result = run()
    item = _stored(_table(handler, name), handler.body["Key"])
    consistent = bool(handler.body.get("ConsistentRead"))
    return result, {name: read_units(item_size(item or {}), consistent=consistent)}


def _batch_get_item(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    result = run()
    unprocessed = result.result.get("UnprocessedKeys") or {}
    units: dict[str, float] = {}
    for name, request in handler.body["RequestItems"].items():
        table = _table(handler, name)
        skipped = (unprocessed.get(name) or {}).get("Keys", [])
        consistent = bool(request.get("ConsistentRead"))
        for key in request["Keys"]:
            if key in skipped:
                continue
            size = item_size(_stored(table, key) or {})
            units[name] = units.get(name, 0.0) + read_units(size, consistent=consistent)
    return result, units


def _query(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """A Query or Scan: the items read, added up, rounded once (each read in full)."""
    name = handler.body["TableName"]
    table = _table(handler, name)
    result = run()
    body = result.result
    returned = body.get("Items", [])
    sizes = [item_size(_stored(table, item) or item) for item in returned]
    read = sum(sizes)
    scanned = body.get("ScannedCount", len(returned))
    if scanned > len(returned):
        # A filter dropped items after they were read: they count too, at the mean size seen.
        mean = read / len(returned) if returned else 0
        read += round((scanned - len(returned)) * mean)
    consistent = bool(handler.body.get("ConsistentRead"))
    return result, {name: read_units(read, consistent=consistent)}


def _single_write(
    handler: DynamoHandler, run: Callable[[], Any], key_of: Callable[[dict[str, Any]], Any]
) -> tuple[Any, dict[str, float]]:
    name = handler.body["TableName"]
    table = _table(handler, name)
    key = key_of(handler.body)
    before = _stored(table, key)
    result = run()
    after = _stored(table, key)
    return result, {name: item_write_units(before, after, _index_keys(table))}


def _put_item(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    return _single_write(handler, run, lambda body: body["Item"])


def _update_item(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    return _single_write(handler, run, lambda body: body["Key"])


def _delete_item(handler: DynamoHandler, run: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    return _single_write(handler, run, lambda body: body["Key"])


def _batch_write_item(
    handler: DynamoHandler, run: Callable[[], Any]
) -> tuple[Any, dict[str, float]]:
    writes = [
        (name, request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
        for name, requests in handler.body["RequestItems"].items()
        for request in requests
    ]
    before = [_stored(_table(handler, name), key) for name, key in writes]
    result = run()
    units: dict[str, float] = {}
    for (name, key), old in zip(writes, before, strict=True):
        table = _table(handler, name)
        new = _stored(table, key)
        units[name] = units.get(name, 0.0) + item_write_units(old, new, _index_keys(table))
    return result, units


def _transact_write_items(
    handler: DynamoHandler, run: Callable[[], Any]
) -> tuple[Any, dict[str, float]]:
    writes: list[tuple[str, str, Mapping[str, Any]]] = []
    for entry in handler.body["TransactItems"]:
        ((kind, request),) = entry.items()
        key = request["Item"] if kind == "Put" else request["Key"]
        writes.append((kind, request["TableName"], key))
    before = [_stored(_table(handler, name), key) for _, name, key in writes]
    result = run()
    units: dict[str, float] = {}
    for (kind, name, key), old in zip(writes, before, strict=True):
        table = _table(handler, name)
        if kind == "ConditionCheck":
            # Counted as a transactional write of the item it checks (no code here uses one).
            used = write_units(item_size(old or {}), transactional=True)
        else:
            new = _stored(table, key)
            used = item_write_units(old, new, _index_keys(table), transactional=True)
        units[name] = units.get(name, 0.0) + used
    return result, units


def _transact_get_items(
    handler: DynamoHandler, run: Callable[[], Any]
) -> tuple[Any, dict[str, float]]:
    result = run()
    units: dict[str, float] = {}
    for entry in handler.body["TransactItems"]:
        request = entry["Get"]
        name = request["TableName"]
        size = item_size(_stored(_table(handler, name), request["Key"]) or {})
        units[name] = units.get(name, 0.0) + read_units(size, consistent=True, transactional=True)
    return result, units
