"""moto served from a process of its own, so it and the gateway each get a core.

In one process they share one GIL: under load the gateway's event loop, the outbox relay and
moto's request threads take turns on a single core while the other core idles. The child lives
exactly as long as its pipe to the parent: closing it (or the parent dying) stops moto.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import signal
import sys
from multiprocessing.connection import Connection
from typing import Final

from emulator.moto_server import serve_moto

START_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 5.0
# How long a thread may hold the GIL while others wait for it (CPython's default: 5 ms).
SWITCH_INTERVAL_SECONDS: Final = 0.001
# The AWS APIs the local system calls (their models are loaded before the heap is frozen).
_SERVICES_USED: Final = ("dynamodb", "dynamodbstreams", "sqs", "events", "cognito-idp")
# Spawn, not fork: the parent already runs threads whose locks a fork would copy.
_SPAWN: Final = multiprocessing.get_context("spawn")


class MotoProcess:
    """moto served from a child process; ``endpoint_url`` is where it answers."""

    def __init__(self, *, tls: bool = False) -> None:
        self._conn, child_end = _SPAWN.Pipe()
        # daemon: multiprocessing also ends the child when this interpreter exits normally.
        self._process = _SPAWN.Process(
            target=_serve, args=(child_end, tls), name="moto", daemon=True
        )
        self._process.start()
        # Only the child may hold its end: the pipe then closes the moment this process ends.
        child_end.close()
        try:
            if not self._conn.poll(START_TIMEOUT_SECONDS):
                raise RuntimeError("the moto process did not start in time")
            where: tuple[str, str | None, str | None] = self._conn.recv()
            self.endpoint_url = where[0]
            # Over HTTPS too (``tls=True``): where, and the CA bundle that verifies it.
            self.tls_endpoint_url, self.ca_bundle = where[1:]
        except EOFError:
            self.stop()
            raise RuntimeError("the moto process ended while starting") from None
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        """The child's process id (for CPU accounting and profilers)."""
        return self._process.pid or 0

    def stop(self) -> None:
        """Close the pipe (the child then stops moto and exits), or kill a child that hangs."""
        self._conn.close()
        self._process.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=STOP_TIMEOUT_SECONDS)


def _serve(conn: Connection, tls: bool) -> None:
    # Ctrl-C reaches the whole process group; the parent decides when moto ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent set the emulator's credentials in the environment this process inherited.
    # A thread back from a socket read or write waits for the GIL until the running thread
    # yields it, by default after 5 ms: a short request (a login, a GetItem) then waits behind
    # a long one (a page of items). 1 ms bounds that wait (measured in docs/local-data.md).
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    server = serve_moto(tls=tls)
    _freeze_the_heap_so_far()
    try:
        conn.send((server.endpoint_url, server.tls_endpoint_url, server.ca_bundle))
        with contextlib.suppress(EOFError, OSError):
            conn.recv()  # returns only when the parent closes its end, or dies
    finally:
        server.stop()


def _freeze_the_heap_so_far() -> None:
    """Keep the garbage collector from rescanning what never becomes garbage.

    Under load a full collection stalled the emulator for 110-150 ms a few times a minute, a
    visible share of the slowest requests; with moto, Flask and the service models loaded so far
    frozen out of it, the measured stalls halved (50-85 ms).
    """
    from moto.core.utils import get_service_model

    for service in _SERVICES_USED:
        get_service_model(service)  # loaded lazily otherwise, on the first request
    gc.collect()
    gc.freeze()
