"""Count the DynamoDB and KMS operations functions ask moto for, so a test can refuse a Scan,
or a KMS call on a warm request.

Lambda's runtime sets ``AWS_EXECUTION_ENV`` (the function pool does too) and botocore names it in
every request's User-Agent (``exec-env/AWS_Lambda_python3.13``): a request that carries it came
from a function; one without it from a test, a tool or the emulator itself (the relay, the DLQ
tools), which may read as they like. The count lives in the process that serves moto, so only a
suite running moto in its own process can read it; it is kept per endpoint (the request's Host), so
a test that runs a second moto beside the session's cannot charge its reads to the session's.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

FUNCTION_AGENT: Final = "exec-env/AWS_Lambda_"
# Operations whose cost grows with the table, not with the answer: never on a request path.
TABLE_WIDE_OPERATIONS: Final = ("Scan",)

_COUNTS: Counter[tuple[str, str]] = Counter()
_COUNTS_LOCK = threading.Lock()
_PATCH_LOCK = threading.Lock()


def count_function_operations() -> None:
    """Make moto count the DynamoDB and KMS requests functions send, by operation; idempotent."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.kms.responses import KmsResponse

    with _PATCH_LOCK:
        for handler in (DynamoHandler, KmsResponse):
            call_action = handler.call_action
            if not getattr(call_action, "_emulator_counted", False):
                handler.call_action = _counted(call_action)  # type: ignore[method-assign]


def function_operations(endpoint_url: str) -> Counter[str]:
    """How many requests of each DynamoDB or KMS operation functions sent to the moto at this
    URL (their names do not overlap: ``GetItem``, ``Decrypt``)."""
    host = urlsplit(endpoint_url).netloc
    with _COUNTS_LOCK:
        return Counter(
            {operation: count for (to, operation), count in _COUNTS.items() if to == host}
        )


def table_wide_reads(
    before: Mapping[str, int],
    after: Mapping[str, int],
    operations: Iterable[str] = TABLE_WIDE_OPERATIONS,
) -> dict[str, int]:
    """The table-wide operations (Scan) functions sent between two counts, and how many."""
    sent = {
        operation: after.get(operation, 0) - before.get(operation, 0) for operation in operations
    }
    return {operation: count for operation, count in sent.items() if count > 0}


def record(operation: str, user_agent: str, host: str) -> None:
    """Count one request of ``operation`` to ``host`` if its User-Agent says a function sent it."""
    if FUNCTION_AGENT in user_agent:
        with _COUNTS_LOCK:
            _COUNTS[host, operation] += 1


def _counted(call_action: Callable[..., Any]) -> Callable[..., Any]:
    # Not copying the wrapped function's attributes: another wrapper's marks stay its own.
    @functools.wraps(call_action, updated=())
    def counted(handler: Any, *args: Any, **kwargs: Any) -> Any:
        headers = handler.headers
        # JSON protocol: the operation is the target's suffix, e.g. DynamoDB_20120810.Scan,
        # TrentService.Decrypt.
        operation = str(headers.get("X-Amz-Target", "")).rpartition(".")[2]
        record(operation, str(headers.get("User-Agent", "")), str(headers.get("Host", "")))
        return call_action(handler, *args, **kwargs)

    counted._emulator_counted = True  # type: ignore[attr-defined]
    return counted
