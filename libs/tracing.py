"""X-Ray tracing of a function: loaded only where Lambda traces, patching only the SDK we call.

Powertools' ``Tracer`` imports the X-Ray SDK even when tracing is off, wraps every invocation in a
(dummy) subsegment, and by default patches every library X-Ray knows that happens to be importable.
Here tracing costs nothing where it is off (locally, in tests, ``POWERTOOLS_TRACE_DISABLED``), and
where it is on only aiobotocore is patched: every AWS call still gets its subsegment.

The X-Ray SDK's Lambda context keeps one stack of open subsegments per thread, so two AWS calls
awaited together (``asyncio.gather``) push and pop each other's subsegments and fail with
``AlreadyEndedException`` (aws-xray-sdk-python#164). ``task_local_lambda_context`` gives every
asyncio task its own stack, inherited from the task that started it.
"""

from __future__ import annotations

import asyncio
import os
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

# Libraries whose calls become subsegments: the functions call AWS through aiobotocore only.
TRACED_LIBRARIES = ("aiobotocore",)
_TRUTHY = {"1", "true", "yes", "on", "y", "t"}

# (the task that owns the list, the stack of open entities) for the current context.
_ENTITIES: ContextVar[tuple[asyncio.Task[Any] | None, list[Any]] | None] = ContextVar(
    "xray_entities", default=None
)


def tracing_enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether X-Ray traces this function: Powertools' rule (in Lambda, not switched off)."""
    env = os.environ if environ is None else environ
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return False
    if env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"):
        return False
    return bool(env.get("LAMBDA_TASK_ROOT"))


def function_tracer(service: str) -> Tracer | None:
    """Powertools' Tracer where X-Ray traces this function; None (nothing loaded) elsewhere."""
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core import xray_recorder

    # Before anything is patched, so no subsegment is ever put on the thread-wide stack.
    xray_recorder.configure(context=task_local_lambda_context())
    return Tracer(service=service, patch_modules=TRACED_LIBRARIES)


class _TaskLocalEntities:
    """The storage X-Ray's Lambda context reads: the segment, and a subsegment stack per task."""

    segment: Any = None

    @property
    def entities(self) -> list[Any] | None:
        held = _ENTITIES.get()
        if held is None:
            return None
        owner, stack = held
        task = _current_task()
        if owner is not task:  # first use in this task: start from the parent's stack
            stack = list(stack)
            _ENTITIES.set((task, stack))
        return stack

    @entities.setter
    def entities(self, stack: list[Any]) -> None:
        _ENTITIES.set((_current_task(), stack))


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop: the synchronous part of the invocation
        return None


def task_local_lambda_context() -> LambdaContext:
    """X-Ray's Lambda context with one subsegment stack per asyncio task."""
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    class TaskLocal(LambdaContext):
        def __init__(self) -> None:
            super().__init__()
            self._local = _TaskLocalEntities()

    return TaskLocal()
