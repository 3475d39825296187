"""A route on the moto server that puts thousands of items a request, for bulk seeding.

Through BatchWriteItem a seed of 100,000 orders is ~25,000 requests of 25 items, each parsed,
signed and serialized, and every item becomes a stream record that the outbox relay would
publish again. ``POST /_emulator/dynamodb/bulk-put`` takes a JSON ``BulkPut`` of any number
of items and puts each one as BatchWriteItem does (unconditionally, replacing an item of the
same key), with no stream record: like an import, it loads history whose events are long
published. It holds the DynamoDB lock (``emulator.backends``) for one request, so the stack's
own requests wait between two chunks, never see half a put. The global indexes' partitions
(``emulator.moto_queries``) are kept from the first chunk on, so no query walks the load later.
The loaded items stay for the life of the process, so they are moved out of the garbage
collector's reach (as ``moto_process`` does with its start-up heap): a full collection would
otherwise walk them all, stalling requests.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec

from emulator.moto_queries import index_every_partition

BULK_PUT_PATH: Final = "/_emulator/dynamodb/bulk-put"
_PATCH_LOCK = threading.Lock()


class BulkPut(msgspec.Struct, frozen=True):
    """The body of a bulk put: items (DynamoDB JSON) for a table of a region."""

    region: str
    table: str
    items: list[dict[str, Any]]
    account: str = "123456789012"  # moto's default account, the one the stack's clients use


def serve_bulk_put(lock: Any) -> None:
    """Add the bulk-put route to moto servers started from now on; idempotent.

    ``lock`` is the one every DynamoDB request of moto holds.
    """
    import moto.moto_server.threaded_moto_server

    threaded_server: Any = moto.moto_server.threaded_moto_server
    with _PATCH_LOCK:
        dispatcher = threaded_server.DomainDispatcherApplication
        if getattr(dispatcher, "_emulator_bulk_put", False):
            return

        def with_bulk_put(*args: Any, **kwargs: Any) -> Callable[..., Iterable[bytes]]:
            return _BulkPutRoute(dispatcher(*args, **kwargs), lock)

        with_bulk_put._emulator_bulk_put = True  # type: ignore[attr-defined]
        threaded_server.DomainDispatcherApplication = with_bulk_put


def put_items(request: BulkPut, lock: Any) -> int:
    """Put the request's items into moto's table, without stream records; how many."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[request.account][request.region].get_table(request.table)
    with lock:
        index_every_partition(table)
        shard, table.stream_shard = table.stream_shard, None
        try:
            for attributes in request.items:
                table.put_item(attributes, overwrite=True)
        finally:
            table.stream_shard = shard
    gc.freeze()
    return len(request.items)


class _BulkPutRoute:
    """WSGI: the bulk-put route, and everything else to moto's own application."""

    def __init__(self, app: Callable[..., Iterable[bytes]], lock: Any) -> None:
        self._app = app
        self._lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != BULK_PUT_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = msgspec.json.decode(environ["wsgi.input"].read(length), type=BulkPut)
            written = put_items(request, self._lock)
        except Exception as error:
            body = msgspec.json.encode({"error": f"{type(error).__name__}: {error}"})
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [body]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [msgspec.json.encode({"written": written})]
