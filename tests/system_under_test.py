"""The system under test, started (or found) once per session: the local system, or a deployed
stage known by its outputs file; and how clients reach it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from emulator.backends import BackendUnavailable, ClientOptions
from emulator.local_system import LocalSystem
from emulator.provision import STREAM_FAILURE_QUEUES, TABLE_NAME
from emulator.seed import seed_demo_data
from libs.resources.events import CONSUMER_QUEUES, EVENT_BUS, RULES
from libs.resources.keys import PII_KEY
from libs.resources.naming import named_queue, resource_name
from libs.stack_outputs import StackOutputs, stage_outputs
from tests.suite_target import target

if TYPE_CHECKING:
    pass


# EMULATOR=aws: the outputs file `just deploy` wrote for the stage under test.
STACK_OUTPUTS: Final = "STACK_OUTPUTS"
DEFAULT_STACK_OUTPUTS: Final = stage_outputs("dev")


@dataclass(frozen=True)
class DeployedStack:
    """A stage `just deploy` made, known by its outputs file; AWS's own endpoints answer."""

    outputs: StackOutputs
    outputs_path: Path

    @property
    def api_url(self) -> str:
        # API Gateway's URL ends with "/"; the tests append paths that start with one.
        return self.outputs.api_url.rstrip("/")

    @property
    def endpoint_url(self) -> str:
        return self.outputs.aws_endpoint_url  # empty: botocore's own endpoints


def deployed_stack() -> DeployedStack:
    """The stage under test for EMULATOR=aws, or a skip saying which outputs file is missing."""
    path = Path(os.environ.get(STACK_OUTPUTS) or DEFAULT_STACK_OUTPUTS)
    if not path.exists():
        pytest.skip(
            f"EMULATOR=aws needs the outputs of a deployed stage and {path} does not exist; "
            f"run `just deploy`, or set {STACK_OUTPUTS} to the outputs file of another stage"
        )
    return DeployedStack(msgspec.json.decode(path.read_bytes(), type=StackOutputs), path)


SystemUnderTest = LocalSystem | DeployedStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """The system under test, started (or found) once for the test session."""
    if target().kind == "aws":
        yield deployed_stack()
        return
    outputs = Path(tmp_path_factory.mktemp("local")) / "outputs.json"
    # A shared endpoint (a `just dev` in another terminal, say) may hold the declared names:
    # this session's resources get names of their own, and are removed afterwards.
    name_suffix = f"test-{uuid.uuid4().hex[:8]}" if target().kind == "endpoint" else ""
    local = LocalSystem(
        backend=target().kind,
        port=0,
        outputs_path=outputs,
        seed=seed_demo_data,
        name_suffix=name_suffix,
    )
    try:
        local.start()
    except BackendUnavailable as unavailable:
        pytest.skip(str(unavailable))
    try:
        yield local
    finally:
        local.stop()
        if name_suffix:
            asyncio.run(remove_stack(local.outputs))


async def remove_stack(outputs: StackOutputs) -> None:
    """Delete what ``provision`` created for a stack with a name suffix of its own."""
    suffix = outputs.name_suffix
    session = get_session()
    options: ClientOptions = {
        "endpoint_url": outputs.aws_endpoint_url,
        "region_name": outputs.region,
    }
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("cognito-idp", **options) as cognito,
        session.create_client("events", **options) as events,
        session.create_client("sqs", **options) as sqs,
        session.create_client("kms", **options) as kms,
    ):
        bus = outputs.event_bus_name
        for rule in RULES:
            name = resource_name(rule.name, suffix)
            with contextlib.suppress(ClientError):
                targets = await events.list_targets_by_rule(Rule=name, EventBusName=bus)
                ids = [t["Id"] for t in targets["Targets"]]
                if ids:
                    await events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
                await events.delete_rule(Name=name, EventBusName=bus)
        with contextlib.suppress(ClientError):
            await events.delete_event_bus(Name=resource_name(EVENT_BUS.name, suffix))
        names = [resource_name(q.name, suffix) for q in STREAM_FAILURE_QUEUES]
        for queue in (named_queue(q, suffix) for q in CONSUMER_QUEUES):
            names += [queue.name, queue.dead_letter.name]
        for name in names:
            with contextlib.suppress(ClientError):
                url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
                await sqs.delete_queue(QueueUrl=url)
        with contextlib.suppress(ClientError):
            await cognito.delete_user_pool(UserPoolId=outputs.user_pool_id)
        with contextlib.suppress(ClientError):
            await dynamodb.delete_table(TableName=resource_name(TABLE_NAME, suffix))
        with contextlib.suppress(ClientError):
            await kms.delete_alias(AliasName=f"alias/{resource_name(PII_KEY.alias, suffix)}")
            await kms.schedule_key_deletion(KeyId=outputs.pii_key_arn, PendingWindowInDays=7)


@pytest.fixture(scope="session")
def api_url(stack: SystemUnderTest) -> str:
    """Base URL of the HTTP API: the local gateway, or the deployed stage's."""
    return stack.api_url


@pytest.fixture(scope="session")
def table_name(stack: SystemUnderTest) -> str:
    return stack.outputs.table_name


def client_options(stack: SystemUnderTest) -> ClientOptions:
    """Where and as whom an SDK client reaches the system under test."""
    if not stack.endpoint_url:
        # A deployed stage: AWS's endpoints, and the credentials of the usual configuration.
        return {"region_name": stack.outputs.region}
    return {
        "endpoint_url": stack.endpoint_url,
        "region_name": stack.outputs.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
