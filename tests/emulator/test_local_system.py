"""The local system as `just dev` and the test session use it: start, serve, stop, one at a time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from aiobotocore.session import get_session

from emulator.__main__ import AlreadyRunning, InstanceLock
from emulator.local_system import LocalSystem
from libs.resources.functions import FunctionDeclaration
from libs.resources.user_pool import ADMIN_GROUP

# Both services answered by the sample handler, which echoes the event it received.
SAMPLE = FunctionDeclaration(service="sample", handler="tests.emulator.sample_function.handler")
PASSWORD = "Sample-Password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    outputs = tmp_path_factory.mktemp("stack") / "outputs.json"
    functions = {"products": SAMPLE, "orders": SAMPLE}
    with LocalSystem(backend="moto", port=0, outputs_path=outputs, functions=functions) as running:
        yield running


def test_outputs_file_describes_the_running_stack(stack: LocalSystem) -> None:
    document = json.loads(stack.outputs_path.read_text())
    assert document["ApiUrl"] == stack.api_url
    assert document["AwsEndpointUrl"] == stack.endpoint_url
    assert document["TableName"] == stack.outputs.table_name
    assert stack.api_url.startswith("http://127.0.0.1:")
    assert set(stack.pools) == {"products", "orders"}


def test_public_route_reaches_its_function(stack: LocalSystem) -> None:
    response = requests.get(f"{stack.api_url}/products?category=books", timeout=10)
    assert response.status_code == 200
    event = response.json()["event"]
    assert event["routeKey"] == "GET /products"
    assert event["queryStringParameters"] == {"category": "books"}


def test_protected_route_without_token_is_401(stack: LocalSystem) -> None:
    response = requests.get(f"{stack.api_url}/orders", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


async def _access_token(stack: LocalSystem, *groups: str) -> str:
    outputs = stack.outputs
    email = f"sample-{time.time_ns()}@example.com"
    async with get_session().create_client(
        "cognito-idp", endpoint_url=outputs.aws_endpoint_url, region_name=outputs.region
    ) as cognito:
        await cognito.sign_up(
            ClientId=outputs.user_pool_client_id, Username=email, Password=PASSWORD
        )
        await cognito.admin_confirm_sign_up(UserPoolId=outputs.user_pool_id, Username=email)
        for group in groups:
            await cognito.admin_add_user_to_group(
                UserPoolId=outputs.user_pool_id, Username=email, GroupName=group
            )
        result = await cognito.initiate_auth(
            ClientId=outputs.user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
    return result["AuthenticationResult"]["AccessToken"]


async def test_token_from_the_emulated_user_pool_is_accepted(stack: LocalSystem) -> None:
    # Given an access token issued by the emulated pool to an admin
    token = await _access_token(stack, ADMIN_GROUP)
    # When it calls a protected route
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.api_url}/orders", headers=headers) as response,
    ):
        # Then the function runs, with the groups claim in API Gateway's string form
        assert response.status == 200
        event = (await response.json())["event"]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["cognito:groups"] == "[admin]"
    assert claims["client_id"] == stack.outputs.user_pool_client_id


def test_stop_closes_the_gateway_and_the_containers(tmp_path: Path) -> None:
    # Given a running stack whose function has served a request
    functions = {"products": SAMPLE, "orders": SAMPLE}
    stack = LocalSystem(
        backend="moto", port=0, outputs_path=tmp_path / "outputs.json", functions=functions
    )
    stack.start()
    pid = requests.get(f"{stack.api_url}/products", timeout=10).json()["pid"]
    api_url = stack.api_url
    # When it stops
    stack.stop()
    # Then nothing answers any more and the container process is gone
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api_url}/products", timeout=2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_lock_held_by_a_live_process_refuses_a_second_emulator(tmp_path: Path) -> None:
    lock_path = tmp_path / "emulator.pid"
    lock_path.write_text(json.dumps({"pid": os.getpid(), "api_url": "http://127.0.0.1:3000"}))
    with pytest.raises(AlreadyRunning, match=r"already running at http://127\.0\.0\.1:3000"):
        InstanceLock(lock_path).acquire()


def test_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    # Given a lock file naming a process that has exited
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    lock_path = tmp_path / "emulator.pid"
    lock_path.write_text(json.dumps({"pid": int(finished.stdout)}))
    # When an emulator takes the lock, Then it succeeds and the file names it
    lock = InstanceLock(lock_path)
    lock.acquire()
    assert json.loads(lock_path.read_text())["pid"] == os.getpid()
    lock.release()
    assert not lock_path.exists()


def _emulator_command(cwd: Path, port: int = 0) -> dict[str, Any]:
    """Arguments of a `python -m emulator` run in the checkout ``cwd``."""
    return {
        "args": [sys.executable, "-m", "emulator"],
        "cwd": cwd,
        "env": {**os.environ, "PORT": str(port)},
        "text": True,
    }


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if line.startswith("Ctrl-C to stop"):
            return lines
    raise AssertionError(f"the emulator exited before serving: {lines}")


def test_python_m_emulator_runs_once_per_checkout_and_stops_cleanly(tmp_path: Path) -> None:
    # Given `python -m emulator` serving from a checkout
    command = _emulator_command(tmp_path)
    with subprocess.Popen(**command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as first:
        try:
            banner = _read_banner(first)
            api_url = next(line.split()[-1] for line in banner if line.strip().startswith("API"))
            assert requests.get(f"{api_url}/nowhere", timeout=10).status_code == 404
            assert any("/orders/{orderId}" in line and "JWT" in line for line in banner)
            # When a second one starts in the same checkout
            second = subprocess.run(**command, capture_output=True, timeout=60)
            # Then it refuses, saying where the first one runs
            assert second.returncode != 0
            assert f"already running at {api_url} (pid {first.pid})" in second.stderr
            assert "Traceback" not in second.stderr
            # And SIGTERM stops the first one cleanly
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=30) == 0
            assert not (tmp_path / ".local" / "emulator.pid").exists()
        finally:
            if first.poll() is None:
                first.kill()


def test_python_m_emulator_explains_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            **_emulator_command(tmp_path, port), capture_output=True, timeout=60
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr
