"""Choosing the backend: moto in this process (DynamoDB serialized), an existing endpoint,
LocalStack in a container, or a deployed stage; and which tests each of them can run."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiobotocore.session import get_session
from moto.dynamodb.responses import DynamoHandler

from emulator.backends import (
    Backend,
    BackendUnavailable,
    SuiteTarget,
    start_backend,
    suite_target,
)
from emulator.provision import provision
from tests.suite_target import skip_reason
from tests.system_under_test import deployed_stack, remove_stack

NO_DOCKER = "unix:///nonexistent/docker.sock"


@pytest.fixture(scope="module")
def moto_backend() -> Iterator[Backend]:
    backend = start_backend("moto")
    yield backend
    backend.stop()


def test_endpoint_backend_uses_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    backend = start_backend("endpoint")
    assert (backend.endpoint_url, backend.region) == ("http://localhost:4566", "eu-west-1")
    backend.stop()  # owns nothing: a no-op


def test_endpoint_backend_without_an_endpoint_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(RuntimeError, match="AWS_ENDPOINT_URL"):
        start_backend("endpoint")


def test_kind_defaults_to_the_emulator_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR", "endpoint")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    assert start_backend().endpoint_url == "http://localhost:4566"


def test_localstack_without_docker_is_unavailable_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a machine where no Docker engine answers
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    # When LocalStack is asked for
    with pytest.raises(BackendUnavailable) as unavailable:
        start_backend("localstack")
    # Then the refusal names what is missing and what to use instead
    reason = str(unavailable.value)
    assert reason.startswith("EMULATOR=localstack needs a running Docker engine")
    assert "EMULATOR=moto" in reason


def test_the_suite_skips_on_localstack_without_docker_and_shows_why() -> None:
    # Given EMULATOR=localstack on a machine without a Docker engine
    environment = os.environ | {"EMULATOR": "localstack", "DOCKER_HOST": NO_DOCKER}
    # When a test that needs the system under test runs, with pytest's short summary
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/e2e/test_products_api.py",
            "-ra",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    # Then every test is skipped, none passed, and the summary says it is for want of Docker
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" not in run.stdout
    assert "skipped" in run.stdout
    assert "SKIPPED" in run.stdout
    assert "EMULATOR=localstack needs a running Docker engine" in run.stdout


def test_aws_is_not_an_emulator_to_start() -> None:
    with pytest.raises(ValueError, match="deployed stage"):
        start_backend("aws")


def test_the_suite_targets_moto_in_process_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMULATOR", raising=False)
    assert suite_target() == SuiteTarget("moto", "moto", in_process=True)


def test_an_endpoint_is_recognised_as_the_moto_it_runs(
    moto_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_backend.endpoint_url)
    assert suite_target("endpoint") == SuiteTarget("endpoint", "moto", in_process=False)


def test_an_endpoint_no_emulator_answers_for_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    assert suite_target("endpoint") == SuiteTarget("endpoint", "unknown")


def test_a_deployed_stage_is_aws_itself() -> None:
    assert suite_target("aws") == SuiteTarget("aws", None)


class MarkedTest:
    """Stands in for a collected test carrying one backend marker."""

    def __init__(self, name: str, reason: str) -> None:
        self.mark = getattr(pytest.mark, name)(reason).mark

    def get_closest_marker(self, name: str) -> Any:
        return self.mark if self.mark.name == name else None


@pytest.mark.parametrize(
    ("marker", "target", "skipped_because"),
    [
        ("moto", SuiteTarget("moto", "moto", in_process=True), None),
        ("moto", SuiteTarget("endpoint", "moto"), None),
        ("moto", SuiteTarget("endpoint", "localstack"), "localstack answers for EMULATOR=endpoint"),
        ("moto", SuiteTarget("aws", None), "AWS itself answers for EMULATOR=aws"),
        ("moto_in_process", SuiteTarget("endpoint", "moto"), "which EMULATOR=endpoint lacks"),
        ("emulator", SuiteTarget("localstack", "localstack"), None),
        ("emulator", SuiteTarget("endpoint", "unknown"), None),
        ("emulator", SuiteTarget("aws", None), "EMULATOR=aws targets a deployed stage"),
    ],
)
def test_a_marked_test_runs_only_where_its_power_exists(
    marker: str, target: SuiteTarget, skipped_because: str | None
) -> None:
    # The stand-in has the one method skip_reason reads.
    item = cast("pytest.Item", MarkedTest(marker, "why it needs it"))
    reason = skip_reason(item, target)
    if skipped_because is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith("why it needs it: ")
        assert skipped_because in reason


def test_a_deployed_stage_without_its_outputs_file_is_skipped_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "outputs-dev.json"
    monkeypatch.setenv("STACK_OUTPUTS", str(missing))
    with pytest.raises(pytest.skip.Exception, match=f"{missing} does not exist"):
        deployed_stack()


async def test_a_session_on_a_shared_endpoint_keeps_its_resources_apart(
    moto_backend: Backend,
) -> None:
    # Given the declared stack at an endpoint (a running `just dev`, say)
    declared = await provision(moto_backend.endpoint_url, moto_backend.region)
    # When a test session provisions there under a name suffix of its own
    session = await provision(moto_backend.endpoint_url, moto_backend.region, "test-1a2b3c4d")
    # Then each of its resources is another one
    assert session.table_name == f"{declared.table_name}-test-1a2b3c4d"
    assert session.event_bus_name != declared.event_bus_name
    assert session.user_pool_id != declared.user_pool_id
    assert session.user_pool_client_id != declared.user_pool_client_id
    options = moto_backend.client_options()
    async with get_session().create_client("sqs", **options) as sqs:
        queues = set((await sqs.list_queues())["QueueUrls"])
        assert any(url.endswith("-notifications-dlq-test-1a2b3c4d") for url in queues)
        # When the session ends, Then its resources go and the declared ones stay
        await remove_stack(session)
        left = set((await sqs.list_queues()).get("QueueUrls", []))
        assert left == {url for url in queues if not url.endswith("-test-1a2b3c4d")}
        assert left
    async with get_session().create_client("dynamodb", **options) as dynamodb:
        tables = (await dynamodb.list_tables())["TableNames"]
        assert declared.table_name in tables
        assert session.table_name not in tables


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown EMULATOR"):
        start_backend("docker-compose")


def test_moto_serves_on_a_free_local_port(moto_backend: Backend) -> None:
    assert moto_backend.endpoint_url.startswith("http://127.0.0.1:")
    assert not moto_backend.endpoint_url.endswith(":0")


def test_dynamodb_serialization_is_installed_once(moto_backend: Backend) -> None:
    # Given moto already started once in this process
    # When another moto backend starts
    start_backend("moto").stop()
    # Then DynamoDB's request handling is wrapped by exactly one lock, not one per start
    handler = DynamoHandler.call_action
    assert getattr(handler, "_emulator_serialized", False)
    assert not getattr(vars(handler)["__wrapped__"], "_emulator_serialized", False)


async def test_concurrent_increments_of_one_item_are_all_applied(moto_backend: Backend) -> None:
    # Given a counter item
    async with get_session().create_client("dynamodb", **moto_backend.client_options()) as dynamodb:
        await dynamodb.create_table(
            TableName="counters",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        )
        # When forty clients increment it at once
        increments = 40
        await asyncio.gather(
            *(
                dynamodb.update_item(
                    TableName="counters",
                    Key={"PK": {"S": "hits"}},
                    UpdateExpression="ADD hits :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                for _ in range(increments)
            )
        )
        # Then no increment was lost, as DynamoDB guarantees
        item = await dynamodb.get_item(TableName="counters", Key={"PK": {"S": "hits"}})
        assert item["Item"]["hits"] == {"N": str(increments)}
