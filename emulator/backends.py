"""Where the emulated AWS APIs live: moto in this process, or an endpoint already running."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_KIND: Final = "moto"
DEFAULT_REGION: Final = "us-east-1"
KINDS: Final = ("moto", "endpoint", "localstack")

# One lock for every DynamoDB request moto serves: its backend mutates plain dicts and lists
# without locking (its FAQ says it is not concurrency-safe), while the Lambda containers call it
# from many threads at once. Serializing whole requests also makes each response a consistent
# snapshot, as DynamoDB's own item-level atomicity would.
_DYNAMODB_LOCK = threading.RLock()
_PATCH_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Backend:
    """A running emulator: where to send AWS API calls, and how to shut it down."""

    endpoint_url: str
    region: str
    _stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def stop(self) -> None:
        """Shut the emulator down (a no-op for endpoints this process does not own)."""
        self._stop()


def start_backend(kind: str | None = None) -> Backend:
    """Start (or locate) the emulator named by ``kind``, defaulting to env ``EMULATOR`` or moto."""
    kind = kind or os.environ.get("EMULATOR") or DEFAULT_KIND
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if kind == "moto":
        return _start_moto(region)
    if kind == "endpoint":
        endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint_url:
            raise RuntimeError(
                "EMULATOR=endpoint needs AWS_ENDPOINT_URL, e.g. http://localhost:4566"
            )
        return Backend(endpoint_url=endpoint_url, region=region)
    if kind == "localstack":
        raise NotImplementedError(
            "EMULATOR=localstack arrives in a later change (LocalStack through testcontainers); "
            "use EMULATOR=endpoint with AWS_ENDPOINT_URL for a LocalStack you started yourself"
        )
    raise ValueError(f"unknown EMULATOR {kind!r}; expected one of {', '.join(KINDS)}")


def _start_moto(region: str) -> Backend:
    from moto.server import ThreadedMotoServer

    # botocore refuses to sign without credentials; moto accepts any.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    _serialize_dynamodb()
    # werkzeug logs every request at INFO; the gateway's access log is the one worth reading.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Port 0: the OS picks a free port at bind time, so two emulators can never race for one.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return Backend(endpoint_url=f"http://{host}:{port}", region=region, _stop=server.stop)


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
