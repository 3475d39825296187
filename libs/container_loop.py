"""The event loop of a Lambda container: created on the first invocation, reused by the next.

Connections opened by one invocation (aiobotocore's pools) stay bound to this loop, so keeping it
for the container's life lets a warm invocation reuse them instead of opening new ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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
