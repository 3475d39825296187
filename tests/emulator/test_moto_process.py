"""moto in a process of its own (what `just dev` runs): it serves like moto in this process, and
it ends with the process that started it, however that one ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiobotocore.session import get_session

from emulator.backends import emulator_at, start_backend

REPOSITORY = Path(__file__).resolve().parents[2]
# A parent that starts moto apart, says where, and waits to be ended.
PARENT = """
import time
from emulator.moto_process import MotoProcess

moto = MotoProcess()
print(moto.pid, moto.endpoint_url, flush=True)
time.sleep(600)
"""


def ended(pid: int) -> bool:
    """Whether ``pid`` is gone (or a zombie no parent reaped yet: it runs nothing any more)."""
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == "Z"


def ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ended(pid):
            return True
        time.sleep(0.1)
    return ended(pid)


async def test_moto_apart_serves_the_sdk_and_stops_with_its_backend() -> None:
    # Given moto started in a process of its own
    backend = start_backend("moto", moto_in_process=False)
    try:
        assert backend.pid is not None
        assert backend.pid != os.getpid()
        # Then it answers as moto, and serves the SDK
        assert emulator_at(backend.endpoint_url) == "moto"
        async with get_session().create_client(
            "dynamodb", endpoint_url=backend.endpoint_url, region_name=backend.region
        ) as dynamodb:
            assert "TableNames" in await dynamodb.list_tables()
    finally:
        # When the backend is stopped
        backend.stop()
    # Then its process has ended
    assert ended(backend.pid)


@pytest.mark.parametrize(
    ("how", "to_group"),
    [(signal.SIGKILL, False), (signal.SIGINT, True)],
    ids=["parent-killed", "ctrl-c"],
)
def test_moto_apart_ends_with_the_process_that_started_it(
    how: signal.Signals, to_group: bool
) -> None:
    # Given a process serving moto from a child of its own, in a process group of its own as
    # a terminal's foreground job is
    with subprocess.Popen(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", PARENT],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            pid, endpoint_url = parent.stdout.readline().split()
            moto = int(pid)
            assert emulator_at(endpoint_url) == "moto"
            # When the parent is killed outright (no clean-up runs), or Ctrl-C reaches the group
            if to_group:
                os.killpg(parent.pid, how)
            else:
                parent.send_signal(how)
            parent.wait(timeout=30)
            # Then moto's process ends too: no orphan keeps serving
            assert ends_within(moto, 15), f"moto (pid {moto}) outlived its parent"
        finally:
            if parent.poll() is None:
                parent.kill()
