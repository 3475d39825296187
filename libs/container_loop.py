"""The event loop of a Lambda container: created on the first invocation, reused by the next.

Connections opened by one invocation (aiobotocore's pools) stay bound to this loop, so keeping it
for the container's life lets a warm invocation reuse them instead of opening new ones.

With SnapStart, Lambda snapshots the container after init and resumes copies of it elsewhere:
``snapshot_hooks`` registers what to do before the snapshot (create clients, so it holds them)
and after each restore (replace what cannot travel: connections, the random generator's state).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class ContainerLoop:
    """One event loop per container, driven by the plain ``handler(event, context)``."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to completion on the container's loop (created once, then reused)."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop.run_until_complete(work)


def snapshot_hooks(before_snapshot: Callable[[], None], after_restore: Callable[[], None]) -> bool:
    """Register SnapStart's runtime hooks; False where there is no SnapStart (not in Lambda).

    ``snapshot_restore_py`` ships with Lambda's managed Python runtimes (3.12 and later).
    """
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(reseed_random)
    register_after_restore(after_restore)
    return True


def reseed_random() -> None:
    """Give this copy of a restored container its own pseudo-random sequence (retry jitter...)."""
    random.seed()
