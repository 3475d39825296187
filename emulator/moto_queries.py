"""Make moto's DynamoDB Query read one partition, as DynamoDB does, not the whole table.

moto answers every Query by sorting every item of the table, then testing each against the key
condition: its cost grows with the table (orders, outbox items, notifications pile up under
load) rather than with the result. Here a query starts from the candidates a real index would
hold: the table's partition for the hash key, or, on a global secondary index, the items ever
written with that index hash value (kept per index as items are put or updated). moto still
applies every condition, sort and page to those candidates, so answers are unchanged; only the
items it looks at are fewer.

Within a partition moto then sorts every candidate by comparing its DynamoType wrappers (each
comparison converts both values again): a page of a 2,000-product catalog took ~200 ms, all but
a little of it sorting. A query with no sort-key condition and no legacy QueryFilter reads the
partition in order from its start key and stops after ``Limit`` items plus one (which tells moto
that more exist), so moto gets just that window: the same page, the same LastEvaluatedKey. On a
global index the partition's order is kept sorted as items are written (``_SortedPartition``),
so such a page costs a binary search and the page, however large the partition; a table
partition is sorted on its plain values per query.

Relies on moto serving one DynamoDB request at a time (``emulator.backends`` serializes them).
"""

from __future__ import annotations

import bisect
import functools
import inspect
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import Table

# Per table: index name → index hash value → keys (table hash, table range) of the items that
# were written with that value. A superset: keys whose item is gone or changed are dropped
# when a query meets them.
_IndexKeys = dict[str, dict["DynamoType", set[tuple["DynamoType", "DynamoType | None"]]]]
_INDEX_KEYS = "_emulator_index_keys"
_PATCH_LOCK = threading.Lock()


def query_by_partition() -> None:
    """Patch moto's Table.query and its writes to keep and use per-partition candidates."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _PATCH_LOCK:
        if getattr(Table.query, "_emulator_by_partition", False):
            return
        Table.query = _narrowed(Table.query)  # type: ignore[method-assign]
        Table.put_item = _indexing_put(Table.put_item)  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _indexing_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]


def _narrowed(query: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(query)

    @functools.wraps(query)
    def narrowed_query(table: Table, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(table, *args, **kwargs).arguments
        candidates = _sorted_index_window(table, arguments)
        if candidates is None:
            candidates = _candidates(table, arguments)
            if candidates is None:
                return query(table, *args, **kwargs)
            candidates = _page_window(table, candidates, arguments)
        # moto's query reads the table through all_items(): for this call, the candidates.
        table.all_items = lambda: candidates  # type: ignore[method-assign]
        try:
            return query(table, *args, **kwargs)
        finally:
            del table.all_items

    narrowed_query._emulator_by_partition = True  # type: ignore[attr-defined]
    return narrowed_query


def _candidates(table: Table, arguments: dict[str, Any]) -> list[Item] | None:
    """The items that can match, or None when the query cannot be narrowed."""
    index_name = arguments.get("index_name")
    hash_key = arguments.get("hash_key")
    conditions = arguments.get("hash_key_conditions") or []
    global_index = next((i for i in table.global_indexes if i.name == index_name), None)
    if index_name is None or global_index is None:
        # The table itself, or a local index: both share the table's partitions.
        value = hash_key if hash_key is not None else _only_value(conditions, table.hash_key_attr)
        if value is None:
            return None
        partition = table.items.get(value)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]  # type: ignore[list-item]
    hash_attributes = [k["AttributeName"] for k in global_index.schema if k["KeyType"] == "HASH"]
    if len(hash_attributes) != 1:
        return None
    attribute = hash_attributes[0]
    value = _only_value(conditions, attribute) if conditions else hash_key
    if value is None:
        return None
    keys = _index_keys(table, index_name, attribute).get(value)
    if not keys:
        return []
    candidates = []
    for key in list(keys):
        item = _current(table, *key)
        if item is None or item.attrs.get(attribute) != value:
            keys.discard(key)  # deleted, or now under another value (indexed there)
        else:
            candidates.append(item)
    return candidates


class _SortedPartition:
    """One global index partition's items in the order moto sorts them, kept as they are written.

    A superset, as the index keys are: an item since deleted, moved to another partition or
    changed without a note is found out (and dropped) when a page reaches it.
    """

    def __init__(self) -> None:
        self.order: list[tuple[Any, ...]] = []  # sort tuples (plain values), ascending
        self.keys: dict[tuple[Any, ...], tuple[DynamoType, DynamoType | None]] = {}
        self.positions: dict[tuple[DynamoType, DynamoType | None], tuple[Any, ...]] = {}

    def place(self, item: Item, names: list[str]) -> None:
        """Put ``item`` at its place in the order (moving it if it was elsewhere)."""
        table_key = (item.hash_key, item.range_key)
        self.drop(table_key)
        sort_key = _sort_key(item, names)
        if sort_key is None:
            return  # not in the index (a key attribute missing), or not plainly ordered
        bisect.insort(self.order, sort_key)
        self.keys[sort_key] = table_key
        self.positions[table_key] = sort_key

    def drop(self, table_key: tuple[DynamoType, DynamoType | None]) -> None:
        """Take the item of ``table_key`` out of the order, if it is there."""
        sort_key = self.positions.pop(table_key, None)
        if sort_key is None:
            return
        at = bisect.bisect_left(self.order, sort_key)
        if at < len(self.order) and self.order[at] == sort_key:
            del self.order[at]
        self.keys.pop(sort_key, None)


# Per table: (index name, index hash value) → its sorted partition, once a page was read from it.
_SORTED = "_emulator_sorted_partitions"


def _sorted_index_window(table: Table, arguments: dict[str, Any]) -> list[Item] | None:
    """A page's window read from a global index partition kept sorted, or None to go the long way.

    For queries on one global index hash value with a ``Limit``, no sort-key condition and no
    QueryFilter, whose partition's sort keys are strings or numbers.
    """
    index_name = arguments.get("index_name")
    limit = arguments.get("limit")
    if (
        index_name is None
        or not limit
        or arguments.get("range_comparison")
        or arguments.get("range_key_conditions")
        or arguments.get("filter_kwargs")
    ):
        return None
    index = next((i for i in table.global_indexes if i.name == index_name), None)
    hash_attributes, range_attributes = _sort_attributes(table, index_name)
    if index is None or len(hash_attributes) != 2 or range_attributes[0] is None:
        return None
    attribute = hash_attributes[0]
    conditions = arguments.get("hash_key_conditions") or []
    value = _only_value(conditions, attribute) if conditions else arguments.get("hash_key")
    if value is None:
        return None
    names = table._generate_attr_to_sort_by(hash_attributes, range_attributes)
    partitions: dict[tuple[str, DynamoType], _SortedPartition] = table.__dict__.setdefault(
        _SORTED, {}
    )
    partition = partitions.get((index_name, value))
    if partition is None:
        partition = _SortedPartition()
        for item in _candidates(table, arguments) or []:
            partition.place(item, names)
        partitions[(index_name, value)] = partition
    forward = arguments.get("scan_index_forward", True) is not False
    start_key = arguments.get("exclusive_start_key")
    if start_key:
        try:
            start = tuple(_plain_wire(start_key[name]) for name in names)
        except (KeyError, TypeError):
            return None
        # The first item past the start key, in the direction read.
        at = (
            bisect.bisect_right(partition.order, start)
            if forward
            else bisect.bisect_left(partition.order, start) - 1
        )
    else:
        at = 0 if forward else len(partition.order) - 1
    window: list[Item] = []
    stale: list[tuple[DynamoType, DynamoType | None]] = []
    step = 1 if forward else -1
    while 0 <= at < len(partition.order) and len(window) <= int(limit):
        sort_key = partition.order[at]
        table_key = partition.keys[sort_key]
        current = _current(table, *table_key)
        if (
            current is None
            or current.attrs.get(attribute) != value
            or _sort_key(current, names) != sort_key
        ):
            stale.append(table_key)
        else:
            window.append(current)
        at += step
    for table_key in stale:
        partition.drop(table_key)
    if stale and any(_current(table, *key) is not None for key in stale):
        # An item changed without a note: read this partition afresh next time, the long way now.
        del partitions[(index_name, value)]
        return None
    return window


def _sort_key(item: Item, names: list[str]) -> tuple[Any, ...] | None:
    """The plain values ``item`` is ordered by (None: one is missing or not plainly ordered)."""
    try:
        return tuple(_plain(item.attrs[name]) for name in names)
    except (KeyError, TypeError):
        return None


def _plain_wire(value: dict[str, Any]) -> Any:
    """A start-key value (wire form) as moto orders it, for strings and numbers only."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return Decimal(value["N"])
    raise TypeError(value)


def _page_window(table: Table, candidates: list[Item], arguments: dict[str, Any]) -> list[Item]:
    """The candidates moto's loop can reach: from the start key on, ``Limit`` + 1 of them.

    Only for a query moto pages without looking at each item (no sort-key condition, no
    QueryFilter) and whose sort keys are strings or numbers; else all the candidates.
    """
    limit = arguments.get("limit")
    if (
        not limit
        or arguments.get("range_comparison")
        or arguments.get("range_key_conditions")
        or arguments.get("filter_kwargs")
    ):
        return candidates
    hash_attributes, range_attributes = _sort_attributes(table, arguments.get("index_name"))
    if range_attributes[0] is None:
        return candidates
    names = table._generate_attr_to_sort_by(hash_attributes, range_attributes)
    try:
        keyed = [(tuple(_plain(item.attrs[name]) for name in names), item) for item in candidates]
    except (KeyError, TypeError):
        return candidates  # a key of another type, or missing: leave it all to moto
    keyed.sort(key=lambda pair: pair[0])
    ordered = [item for _, item in keyed]
    forward = arguments.get("scan_index_forward", True) is not False
    if not forward:
        ordered.reverse()
    start = 0
    start_key = arguments.get("exclusive_start_key")
    if start_key:
        # Items up to the start key come first in the order, then none: search for the boundary.
        low, high = 0, len(ordered)
        while low < high:
            middle = (low + high) // 2
            before = table._item_comes_before_dct(
                ordered[middle], start_key, hash_attributes, range_attributes, forward
            )
            low, high = (middle + 1, high) if before else (low, middle)
        start = low
    return ordered[start : start + int(limit) + 1]


def _sort_attributes(table: Table, index_name: str | None) -> tuple[list[str], list[str | None]]:
    """The hash and range attributes moto's query sorts a partition by (as it builds them)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index_name is None or index is None:
        return [table.hash_key_attr], [table.range_key_attr]
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges: list[str | None] = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if not ranges:
        return [*hashes, table.hash_key_attr], [None]
    return [*hashes, table.hash_key_attr], [*ranges, table.range_key_attr]


def _plain(value: DynamoType) -> Any:
    """A key value as moto orders it (its cast value), for strings and numbers only."""
    if value.type == "S":
        return value.value
    if value.type == "N":
        return Decimal(value.value)
    raise TypeError(value.type)


def _only_value(conditions: list[tuple[str, DynamoType]], attribute: str) -> DynamoType | None:
    if len(conditions) == 1 and conditions[0][0] == attribute:
        return conditions[0][1]
    return None


def _index_keys(
    table: Table, index_name: str, attribute: str
) -> dict[DynamoType, set[tuple[DynamoType, DynamoType | None]]]:
    """The index's keys by hash value, built from every item the first time it is queried."""
    indexes: _IndexKeys = table.__dict__.setdefault(_INDEX_KEYS, {})
    if index_name not in indexes:
        by_value: dict[DynamoType, set[tuple[DynamoType, DynamoType | None]]] = {}
        partitions: list[Any] = list(table.items.values())
        for partition in partitions:
            items: list[Item] = list(partition.values()) if table.range_key_attr else [partition]
            for item in items:
                value = item.attrs.get(attribute)
                if value is not None:
                    by_value.setdefault(value, set()).add((item.hash_key, item.range_key))
        indexes[index_name] = by_value
    return indexes[index_name]


def index_every_partition(table: Table) -> None:
    """Build the candidates of each of the table's global indexes now, not at its first query.

    A bulk load then adds to them as it puts (the first query after a load of 600,000 items
    would otherwise walk them all, for seconds).
    """
    for index in table.global_indexes:
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        if len(hashes) == 1:
            _index_keys(table, index.name, hashes[0])


def _note(table: Table, item: Item | None) -> None:
    """Add a written item to every index of its table built so far, and to its sorted partition."""
    indexes: _IndexKeys | None = table.__dict__.get(_INDEX_KEYS)
    if not indexes or item is None:
        return
    partitions: dict[tuple[str, DynamoType], _SortedPartition] = table.__dict__.get(_SORTED, {})
    for index in table.global_indexes:
        by_value = indexes.get(index.name)
        if by_value is None:
            continue
        for key in index.schema:
            if key["KeyType"] == "HASH":
                value = item.attrs.get(key["AttributeName"])
                if value is not None:
                    by_value.setdefault(value, set()).add((item.hash_key, item.range_key))
                    partition = partitions.get((index.name, value))
                    if partition is not None:
                        hashes, ranges = _sort_attributes(table, index.name)
                        partition.place(item, table._generate_attr_to_sort_by(hashes, ranges))


def _current(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    # Read without table.get_item: its defaultdict would gain an empty partition per miss.
    partition = table.items.get(hash_key)
    if partition is None or range_key is None:
        return partition  # type: ignore[return-value]
    return partition.get(range_key)


def _indexing_put(put_item: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(put_item)
    def indexed_put_item(table: Table, *args: Any, **kwargs: Any) -> Item:
        item = put_item(table, *args, **kwargs)
        _note(table, item)
        return item

    return indexed_put_item


def _indexing_update(update_item: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(update_item)
    def indexed_update_item(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Item:
        item = update_item(backend, table_name, *args, **kwargs)
        _note(backend.get_table(table_name), item)  # updated in place: its index values may change
        return item

    return indexed_update_item
