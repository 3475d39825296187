"""An event loop in a daemon thread: what the local system and the fault-injecting API run on,
so they serve requests while the caller blocks, sleeps or runs a loop of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any


class BackgroundLoop:
    """A running event loop in a thread of its own, until ``close``."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def run[T](self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the loop and wait for its result, at most ``timeout`` seconds."""
        if self._closed:
            coroutine.close()
            raise RuntimeError(f"the {self._thread.name} event loop is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        """Let executor work finish, stop the loop and its thread; safe to call more than once."""
        if self._closed:
            return
        # Function pools start containers from the loop's executor threads: let those finish.
        self.run(self._loop.shutdown_default_executor(), timeout=10)
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
