"""`python -m emulator` (what `just dev` runs): the local system in the foreground until Ctrl-C.

moto runs in a child process of its own, so it and the gateway each get a core; ``--in-process``
keeps it in this process (one process to attach a debugger or profiler to).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Final

import msgspec

from emulator.local_system import DEFAULT_HOST, DEFAULT_PORT, LocalSystem
from emulator.seed import seed_demo_data
from libs.resources.api_routes import ROUTES
from libs.resources.environments import PROJECT
from libs.stack_outputs import LOCAL_OUTPUTS

LOCK_PATH: Final = Path(".local/emulator.pid")
FORCE_QUIT_AFTER_SECONDS: Final = 1.0


class _Holder(msgspec.Struct):
    """What the lock file says about the emulator that holds it."""

    pid: int
    api_url: str | None = None


class AlreadyRunning(Exception):
    """Another live emulator holds the lock file."""

    def __init__(self, holder: _Holder, lock_path: Path) -> None:
        where = f"at {holder.api_url}" if holder.api_url else "and still starting"
        super().__init__(
            f"{PROJECT} is already running {where} (pid {holder.pid}); stop it with Ctrl-C "
            f"there (or delete {lock_path} if that process is not the emulator)"
        )


class InstanceLock:
    """A pid file that lets one emulator run per checkout; a dead holder's file is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                # O_EXCL: of two emulators starting at once, exactly one creates the file.
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and _alive(holder.pid):
                    raise AlreadyRunning(holder, self.path) from None
                self.path.unlink(missing_ok=True)  # left behind by an emulator that died
                continue
            with os.fdopen(descriptor, "wb") as file:
                file.write(msgspec.json.encode(_Holder(pid=os.getpid())))
            return

    def record(self, api_url: str) -> None:
        """Note where this emulator serves, for the message a second one prints."""
        self.path.write_bytes(msgspec.json.encode(_Holder(pid=os.getpid(), api_url=api_url)))

    def release(self) -> None:
        """Remove the lock file if this process still holds it."""
        holder = self._holder()
        if holder is not None and holder.pid == os.getpid():
            self.path.unlink(missing_ok=True)

    def _holder(self) -> _Holder | None:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=_Holder)
        except (OSError, msgspec.DecodeError):
            return None


def main(argv: list[str] | None = None) -> int:
    """Run the stack until SIGINT or SIGTERM; the process's exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    lock = InstanceLock(LOCK_PATH)
    try:
        lock.acquire()
    except AlreadyRunning as running:
        print(running, file=sys.stderr)
        return 1
    stopping = threading.Event()
    first_signal_at: list[float] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C reaches this process both from the terminal and forwarded by `uv run`; only a
        # deliberate second Ctrl-C, a moment later, skips the clean stop.
        now = time.monotonic()
        if first_signal_at and now - first_signal_at[0] > FORCE_QUIT_AFTER_SECONDS:
            os._exit(128 + signum)
        first_signal_at[:1] = first_signal_at or [now]
        stopping.set()

    # Installed before starting, so Ctrl-C during start-up also ends in a clean stop.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    port: int = args.port
    stack = LocalSystem(
        port=port,
        outputs_path=LOCAL_OUTPUTS,
        seed=seed_demo_data,
        moto_in_process=args.in_process,
        tls=args.tls,
    )
    try:
        try:
            stack.start()
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            print(
                f"port {port} on {DEFAULT_HOST} is in use by another program; stop it, or run "
                f"with --port <another port>",
                file=sys.stderr,
            )
            return 1
        lock.record(stack.api_url)
        print(_banner(stack), flush=True)
        stopping.wait()
        print("stopping...", flush=True)
        stack.stop()
        return 0
    finally:
        lock.release()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", DEFAULT_PORT)),
        help=f"where the HTTP API listens on {DEFAULT_HOST} (default: env PORT, else "
        f"{DEFAULT_PORT}; 0 picks a free port)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve moto from this process instead of a child process of its own",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="the functions reach the emulator over HTTPS, verifying a local CA (as AWS)",
    )
    return parser


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists (POSIX)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def _banner(stack: LocalSystem) -> str:
    routes = [
        f"    {route.method:<7}{route.path:<26}{'JWT' if route.auth == 'jwt' else 'public'}"
        for route in ROUTES
        if route.method != "ANY"  # every path's ANY route only answers 405
    ]
    pid = stack.emulator_pid
    serving = f" (moto, pid {pid})" if pid is not None else ""
    ca_bundle = stack.outputs.aws_ca_bundle
    verified = [f"  CA bundle    {ca_bundle} (AWS_CA_BUNDLE)"] if ca_bundle else []
    return "\n".join(
        [
            f"{PROJECT} is running",
            f"  API          {stack.api_url}",
            f"  AWS endpoint {stack.endpoint_url}{serving}",
            *verified,
            f"  outputs      {stack.outputs_path}",
            "  routes",
            *routes,
            "Ctrl-C to stop.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
