"""moto's threaded server on a free local port, with the emulator's fixes applied first."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from emulator.local_tls import TlsListener, local_certificates
from emulator.moto_bulk_put import serve_bulk_put
from emulator.moto_capacity import count_capacity_like_aws
from emulator.moto_cognito import patch_moto_cognito
from emulator.moto_memory import limit_moto_memory
from emulator.moto_operations import count_function_operations
from emulator.moto_queries import query_by_partition
from emulator.moto_speedups import speed_up_moto

# One lock for every DynamoDB request moto serves: its backend mutates plain dicts and lists
# without locking (its FAQ says it is not concurrency-safe), while the Lambda containers call it
# from many threads at once. Serializing whole requests also makes each response a consistent
# snapshot, as DynamoDB's own item-level atomicity would.
_DYNAMODB_LOCK = threading.RLock()
_PATCH_LOCK = threading.Lock()


class MotoServer:
    """A running moto server; ``endpoint_url`` is where it answers.

    ``tls=True`` also serves it over HTTPS with the local CA (``emulator.local_tls``):
    ``tls_endpoint_url``, verified with ``ca_bundle``.
    """

    def __init__(self, *, tls: bool = False) -> None:
        from moto.server import ThreadedMotoServer

        # Port 0: the OS picks a free port at bind time, so two emulators can never race for one.
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.tls_endpoint_url: str | None = None
        self.ca_bundle: str | None = None
        self._tls: TlsListener | None = None
        if tls:
            try:
                self._tls = TlsListener(local_certificates())
            except BaseException:
                self._server.stop()
                raise
            self.tls_endpoint_url, self.ca_bundle = self._tls.endpoint_url, self._tls.ca_bundle

    def stop(self) -> None:
        """Stop serving."""
        if self._tls is not None:
            self._tls.stop()
        self._server.stop()


def serve_moto(*, tls: bool = False) -> MotoServer:
    """Patch moto (once per process) and start a server in this process."""
    patch_moto()
    # werkzeug logs every request at INFO; the gateway's access log is the one worth reading.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return MotoServer(tls=tls)


def patch_moto() -> None:
    """Apply every patch of moto's internals (emulator/moto_internals.py lists them); idempotent."""
    count_function_operations()  # first: the lock then wraps the count, as one wrapper
    _serialize_dynamodb()
    limit_moto_memory()
    query_by_partition()
    speed_up_moto()
    count_capacity_like_aws()
    patch_moto_cognito()
    serve_bulk_put(_DYNAMODB_LOCK)


def _serialize_dynamodb() -> None:
    """Make moto handle one DynamoDB (or DynamoDB Streams) request at a time; idempotent."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    with _PATCH_LOCK:
        for handler in (DynamoHandler, DynamoDBStreamsHandler):
            call_action = handler.call_action
            if not getattr(call_action, "_emulator_serialized", False):
                handler.call_action = _serialized(call_action)  # type: ignore[method-assign]


def _serialized(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return call_action(*args, **kwargs)

    locked._emulator_serialized = True  # type: ignore[attr-defined]
    return locked
