"""Keep moto's memory (and the time it spends copying) flat as the table grows.

Two things in moto grow with every request. ``BaseModel.__new__`` appends each model instance to
its class's ``instances_tracked`` list (only moto's model-data dashboard reads it) and never
lets go. And TransactWriteItems deep-copies every table it touches, stream records included, to
roll back on failure: each copied item is another tracked instance, so memory grew by a copy of
the table per transaction (2.6 MB per POST /orders on a warm table), and the copy itself took
most of the emulator's CPU. Here moto stops tracking instances, and a transaction saves only the
items it names (and where the stream ended), which is all a rollback has to restore.

And moto keeps every stream record, and every shard iterator, for the life of the process, where
DynamoDB Streams keeps a record for 24 hours and an iterator for 15 minutes. Here a shard drops
its records older than that, and its oldest beyond a cap, and iterators expire (``StreamBounds``),
so a long-running emulator holds a bounded stream (a relay polling an idle stream otherwise
leaves ~600 MB of iterators a day). As in AWS, reading from a position dropped that way is a
TrimmedDataAccessException, and using an expired iterator an ExpiredIteratorException.

Relies on moto serving one DynamoDB request at a time (``emulator.backends`` serializes them).
"""

from __future__ import annotations

import bisect
import copy
import functools
import heapq
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

# How long DynamoDB Streams keeps a record, and a shard iterator stays usable.
STREAM_RETENTION: Final = timedelta(hours=24)
ITERATOR_LIFETIME: Final = timedelta(minutes=15)
# The most records a shard keeps, whatever their age: a day of load tests stays in memory.
RECORDS_PER_SHARD: Final = 100_000
TRIMMED_DATA_ACCESS: Final = "TrimmedDataAccessException"
EXPIRED_ITERATOR: Final = "ExpiredIteratorException"
# The record an iterator of these types reads first: the sequence number it names, plus this.
_FIRST_READ_PAST: Final = {"AT_SEQUENCE_NUMBER": 0, "AFTER_SEQUENCE_NUMBER": 1}

_PATCH_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class StreamBounds:
    """What a stream shard keeps: records younger than ``retention``, the newest ``records`` of
    them; and how long an iterator over it stays usable."""

    retention: timedelta = STREAM_RETENTION
    records: int = RECORDS_PER_SHARD
    iterator_lifetime: timedelta = ITERATOR_LIFETIME


# The bounds a shard gets when its stream is enabled.
_stream_bounds = StreamBounds()


def limit_moto_memory() -> None:
    """Stop moto tracking model instances, copying tables in transactions, and keeping every
    stream record and shard iterator; idempotent."""
    with _PATCH_LOCK:
        forget_model_instances()
        _roll_transactions_back_from_saved_items()
        _bound_streams()


def set_stream_bounds(bounds: StreamBounds) -> StreamBounds:
    """Bound the shards of streams enabled from now on by ``bounds``; the bounds set before."""
    global _stream_bounds
    previous, _stream_bounds = _stream_bounds, bounds
    return previous


def trim_stream(shard: StreamShard) -> None:
    """Drop the shard's records older than its retention, then its oldest beyond its cap."""
    from moto.core.utils import utcnow

    bounds = _bounds_of(shard)
    records = shard.items
    expired = bisect.bisect_left(records, utcnow() - bounds.retention, key=_created_at)
    dropped = max(expired, len(records) - bounds.records)
    if dropped <= 0:
        return
    del records[:dropped]
    # moto numbers a record ``starting_sequence_number`` plus its index, and finds it again by
    # that index: moving the start past what was dropped keeps every record's number and place.
    shard.starting_sequence_number += dropped


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
            if (shard := table.stream_shard) is not None:
                # Where the stream ends, by sequence number: a write trimming the shard's front
                # during the transaction changes its length, never that.
                self._streams.append((shard, shard.starting_sequence_number + len(shard.items)))

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
        for shard, end in self._streams:
            del shard.items[max(0, end - shard.starting_sequence_number) :]


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


def forget_expired_iterators(backend: DynamoDBStreamsBackend) -> None:
    """Drop the backend's shard iterators past their lifetime (moto keeps every one it made)."""
    expiring: list[tuple[float, str]] = backend.__dict__.setdefault("_emulator_expiring", [])
    now = time.monotonic()
    while expiring and expiring[0][0] <= now:
        backend.shard_iterators.pop(heapq.heappop(expiring)[1], None)


def _bound_streams() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    if getattr(StreamShard.add, "_emulator_bounded", False):
        return
    StreamShard.__init__ = _with_bounds(StreamShard.__init__)  # type: ignore[method-assign]
    StreamShard.add = _trimmed_after(StreamShard.add)  # type: ignore[method-assign,assignment]
    StreamShard.get = _refusing_trimmed_records(StreamShard.get)  # type: ignore[method-assign,assignment]
    ShardIterator.__init__ = _expiring(ShardIterator.__init__)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = _refusing_trimmed_positions(  # type: ignore[method-assign]
        DynamoDBStreamsBackend.get_shard_iterator
    )
    DynamoDBStreamsBackend.get_records = _refusing_expired_iterators(  # type: ignore[method-assign,assignment]
        DynamoDBStreamsBackend.get_records
    )


def _with_bounds(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(shard: StreamShard, *args: Any, **kwargs: Any) -> None:
        init(shard, *args, **kwargs)
        shard._emulator_bounds = _stream_bounds  # type: ignore[attr-defined]

    return __init__


def _trimmed_after(
    add: Callable[[StreamShard, Item | None, Item | None], None],
) -> Callable[[StreamShard, Item | None, Item | None], None]:
    @functools.wraps(add)
    def add_and_trim(shard: StreamShard, old: Item | None, new: Item | None) -> None:
        add(shard, old, new)
        trim_stream(shard)

    add_and_trim._emulator_bounded = True  # type: ignore[attr-defined]
    return add_and_trim


def _refusing_trimmed_records(
    get: Callable[[StreamShard, int, int], list[dict[str, Any]]],
) -> Callable[[StreamShard, int, int], list[dict[str, Any]]]:
    @functools.wraps(get)
    def get_kept(shard: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
        trim_stream(shard)
        # An iterator made before its position was trimmed, as AWS answers it.
        if start < shard.starting_sequence_number:
            raise _trimmed(start, shard)
        return get(shard, start, quantity)

    return get_kept


def _refusing_trimmed_positions(
    get_shard_iterator: Callable[..., ShardIterator],
) -> Callable[..., ShardIterator]:
    @functools.wraps(get_shard_iterator)
    def get_kept_shard_iterator(
        backend: DynamoDBStreamsBackend,
        arn: str,
        shard_id: str,
        shard_iterator_type: str,
        sequence_number: str | int | None = None,
    ) -> ShardIterator:
        forget_expired_iterators(backend)
        shard = backend._get_table_from_arn(arn).stream_shard
        if shard is not None:
            # Trimmed first, so that TRIM_HORIZON names the oldest record still kept.
            trim_stream(shard)
            past = _FIRST_READ_PAST.get(shard_iterator_type)
            if past is not None and sequence_number is not None:
                first_read = int(sequence_number) + past
                if first_read < shard.starting_sequence_number:
                    raise _trimmed(first_read, shard)
        return get_shard_iterator(backend, arn, shard_id, shard_iterator_type, sequence_number)

    return get_kept_shard_iterator


def _expiring(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(
        iterator: ShardIterator, backend: DynamoDBStreamsBackend, *args: Any, **kwargs: Any
    ) -> None:
        init(iterator, backend, *args, **kwargs)
        lifetime = _bounds_of(iterator.stream_shard).iterator_lifetime.total_seconds()
        expires_at = time.monotonic() + lifetime
        iterator._emulator_expires_at = expires_at  # type: ignore[attr-defined]
        # moto registers the iterator under its ARN once this returns; the heap says when to
        # unregister it.
        expiring: list[tuple[float, str]] = backend.__dict__.setdefault("_emulator_expiring", [])
        heapq.heappush(expiring, (expires_at, iterator.arn))

    return __init__


def _refusing_expired_iterators(
    get_records: Callable[[DynamoDBStreamsBackend, str, int], dict[str, Any]],
) -> Callable[[DynamoDBStreamsBackend, str, int], dict[str, Any]]:
    @functools.wraps(get_records)
    def get_records_of_live_iterator(
        backend: DynamoDBStreamsBackend, iterator_arn: str, limit: int
    ) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        forget_expired_iterators(backend)
        iterator = backend.shard_iterators.get(iterator_arn)
        expires_at: float = getattr(iterator, "_emulator_expires_at", float("-inf"))
        # Unknown too: moto would answer an iterator it does not hold with a 500 (a KeyError).
        if expires_at <= time.monotonic():
            raise JsonRESTError(EXPIRED_ITERATOR, "The shard iterator has expired")
        return get_records(backend, iterator_arn, limit)

    return get_records_of_live_iterator


def _trimmed(sequence_number: int, shard: StreamShard) -> Exception:
    from moto.core.exceptions import JsonRESTError

    bounds = _bounds_of(shard)
    return JsonRESTError(
        TRIMMED_DATA_ACCESS,
        f"Sequence number {sequence_number} was trimmed from shard {shard.id}, whose oldest "
        f"record is {shard.starting_sequence_number}: a shard keeps records for "
        f"{bounds.retention}, and its newest {bounds.records} at most",
    )


def _bounds_of(shard: StreamShard) -> StreamBounds:
    # A shard whose stream was enabled before the bounds were installed has the current ones.
    bounds: StreamBounds = getattr(shard, "_emulator_bounds", _stream_bounds)
    return bounds


def _created_at(record: StreamRecord) -> datetime:
    created: datetime = record.record["dynamodb"]["ApproximateCreationDateTime"]
    return created
