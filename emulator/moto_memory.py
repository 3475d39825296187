"""Keep moto's memory (and the time it spends copying) flat as the table grows.

Two things in moto grow with every request. ``BaseModel.__new__`` appends each model instance to
its class's ``instances_tracked`` list (only moto's model-data dashboard reads it) and never
lets go. And TransactWriteItems deep-copies every table it touches, stream records included, to
roll back on failure: each copied item is another tracked instance, so memory grew by a copy of
the table per transaction (2.6 MB per POST /orders on a warm table), and the copy itself took
most of the emulator's CPU. Here moto stops tracking instances, and a transaction saves only the
items it names (and the stream's length), which is all a rollback has to restore.

Relies on moto serving one DynamoDB request at a time (``emulator.backends`` serializes them).
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import StreamShard, Table

_PATCH_LOCK = threading.Lock()


def limit_moto_memory() -> None:
    """Stop moto tracking model instances, and copying tables in transactions; idempotent."""
    with _PATCH_LOCK:
        forget_model_instances()
        _roll_transactions_back_from_saved_items()


def forget_model_instances() -> None:
    """Stop moto tracking new model instances and drop those tracked so far; idempotent."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    if getattr(BaseModel.__new__, "_emulator_untracked", False):
        return
    BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
    reset_model_data()


def tracked_instances() -> int:
    """How many model instances moto is tracking, over every model class loaded so far."""
    from moto.core.model_instances import model_data

    return sum(
        len(getattr(model, "instances_tracked", ()))
        for models in model_data.values()
        for model in models.values()
    )


def _untracked_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    # BaseModel's own __new__ minus the append; its bases take no constructor arguments.
    from moto.core.common_models import BaseModel

    return super(BaseModel, cls).__new__(cls)


_untracked_new._emulator_untracked = True  # type: ignore[attr-defined]


def _roll_transactions_back_from_saved_items() -> None:
    import moto.dynamodb.models as dynamodb_models

    backend_class = dynamodb_models.DynamoDBBackend
    transact = backend_class.transact_write_items
    if getattr(transact, "_emulator_saved_items", False):
        return
    # The module's deepcopy of a whole table (only transact_write_items makes one) now hands
    # back the table itself, so moto's own rollback (putting that copy back) changes nothing;
    # the saved items below restore what the transaction wrote.
    dynamodb_models.copy = _TablesByReference(dynamodb_models.Table)  # type: ignore[attr-defined]
    backend_class.transact_write_items = _with_saved_items(transact)  # type: ignore[method-assign,assignment]


class _TablesByReference(ModuleType):
    """The ``copy`` module as moto's DynamoDB backend sees it: tables are not deep-copied."""

    def __init__(self, table_class: type) -> None:
        super().__init__("copy")
        self._table_class = table_class

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)


def _with_saved_items(
    transact: Callable[[DynamoDBBackend, list[dict[str, Any]]], None],
) -> Callable[[DynamoDBBackend, list[dict[str, Any]]], None]:
    @functools.wraps(transact)
    def transact_write_items(
        backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
    ) -> None:
        saved = _SavedItems(backend, transact_items)
        try:
            transact(backend, transact_items)
        except BaseException:
            # moto raises only after undoing (or before writing anything): undo it here too.
            saved.restore()
            raise

    transact_write_items._emulator_saved_items = True  # type: ignore[attr-defined]
    return transact_write_items


class _SavedItems:
    """Copies of the items a transaction names (or their absence), and each stream's length."""

    def __init__(
        self, backend: DynamoDBBackend, transact_items: Iterable[Mapping[str, Any]]
    ) -> None:
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._streams: list[tuple[StreamShard, int]] = []
        tables: dict[int, Table] = {}
        for entry in transact_items:
            operation = next(iter(entry.values()), None)
            if not isinstance(operation, Mapping):
                continue
            table = backend.tables.get(operation.get("TableName", ""))
            key = _key_of(table, operation.get("Item") or operation.get("Key")) if table else None
            if table is None or key is None:
                continue  # moto refuses such an operation before writing anything
            tables[id(table)] = table
            current = _get(table, *key)
            self._items.append((table, *key, copy.deepcopy(current)))
        for table in tables.values():
            if table.stream_shard is not None:
                self._streams.append((table.stream_shard, len(table.stream_shard.items)))

    def restore(self) -> None:
        """Put every saved item back as it was, and drop the stream records written since."""
        for table, hash_key, range_key, item in reversed(self._items):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item  # type: ignore[assignment]
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        for shard, length in self._streams:
            del shard.items[length:]


def _key_of(table: Table, attributes: Any) -> tuple[DynamoType, DynamoType | None] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not isinstance(attributes, Mapping) or table.hash_key_attr not in attributes:
        return None
    if table.range_key_attr is None:
        return DynamoType(attributes[table.hash_key_attr]), None
    if table.range_key_attr not in attributes:
        return None
    return (
        DynamoType(attributes[table.hash_key_attr]),
        DynamoType(attributes[table.range_key_attr]),
    )


def _get(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    # Read without table.get_item: on a table with a sort key its defaultdict would gain an
    # empty partition for every key looked up.
    partition = table.items.get(hash_key)
    if range_key is None:
        return partition  # type: ignore[return-value]
    return partition.get(range_key) if partition is not None else None
