"""Session fixtures: the system under test (the local stack on the emulator ``EMULATOR`` names,
or a deployed stage), its resources, and Cognito users.

``EMULATOR=moto`` (the default) runs moto in this process; ``endpoint`` uses the emulator at
``AWS_ENDPOINT_URL``, under names of this session's own; ``localstack`` starts LocalStack with
testcontainers; ``aws`` targets the stage whose outputs file ``STACK_OUTPUTS`` names. Tests
marked ``emulator``, ``moto`` or ``moto_in_process`` are skipped where that power is missing.
Every Cognito user a test creates is deleted at teardown, so a deployed stage's pool keeps none.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jwt
import msgspec
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from emulator.backends import BackendUnavailable, SuiteTarget, suite_target
from emulator.local_stack import LocalStack
from emulator.provision import (
    STREAM_FAILURE_QUEUES,
    TABLE_NAME,
    StackOutputs,
    stack_name,
    stack_queue,
)
from emulator.seed import seed_demo_data
from libs.resources.events import CONSUMER_QUEUES, EVENT_BUS, RULES
from libs.resources.user_pool import ADMIN_GROUP
from libs.single_table import from_item
from libs.table_keys import as_key
from services.notifications import notification_table
from services.notifications.models import Notification, ProcessedMarker

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient

PASSWORD = "Correct-Horse-7"
# EMULATOR=aws: the outputs file `just deploy` wrote for the stage under test.
STACK_OUTPUTS: Final = "STACK_OUTPUTS"
DEFAULT_STACK_OUTPUTS: Final = Path(".local/outputs-dev.json")
# The domain of test accounts' addresses: reserved by RFC 2606, nobody's mailbox. A deployed
# stage never emails one: a bounce there would still count against the AWS account.
TEST_EMAIL_DOMAIN: Final = "example.com"
TEST_EMAIL_PATTERN: Final = f"{{id}}@{TEST_EMAIL_DOMAIN}"
# EMULATOR=aws: the users the tests make (no Cognito email) get SES mailbox-simulator addresses,
# so the notifications they cause are accepted (also in SES's sandbox), neither bounce nor count
# against the sending quota, and reach nobody.
SES_SIMULATOR_PATTERN: Final = "success+{id}@simulator.amazonses.com"
# EMULATOR=aws: a mailbox of yours for the accounts Cognito emails (sign-up, forgot-password),
# as a pattern whose {id} each such account replaces, e.g. me+{id}@mydomain.com.
E2E_EMAIL: Final = "E2E_EMAIL"


# -- which backend, and which tests it can run ------------------------------------------------


@functools.cache
def target() -> SuiteTarget:
    """What this session runs against (env ``EMULATOR``), looked up once."""
    try:
        return suite_target()
    except (ValueError, RuntimeError) as wrong:
        raise pytest.UsageError(str(wrong)) from None


def skip_reason(item: pytest.Item, target: SuiteTarget) -> str | None:
    """Why ``item`` cannot run against ``target`` (None: it can), from its backend markers."""
    backend = f"EMULATOR={target.kind}"
    marker = item.get_closest_marker("moto_in_process")
    if marker is not None and not target.in_process:
        return f"{_why(marker)}: reads moto's state in this process, which {backend} lacks"
    marker = item.get_closest_marker("moto")
    if marker is not None and target.emulator != "moto":
        answering = target.emulator or "AWS itself"
        return f"{_why(marker)}: only moto does that, and {answering} answers for {backend}"
    marker = item.get_closest_marker("emulator")
    if marker is not None and target.emulator is None:
        return f"{_why(marker)}: needs an emulator, and {backend} targets a deployed stage"
    return None


def _why(marker: pytest.Mark) -> str:
    return str(marker.args[0] if marker.args else marker.kwargs.get("reason", marker.name))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    backend_markers = ("emulator", "moto", "moto_in_process")
    marked = [i for i in items if any(i.get_closest_marker(m) for m in backend_markers)]
    if not marked:
        return  # nothing to decide: no need to look at the backend (or probe an endpoint)
    for item in marked:
        reason = skip_reason(item, target())
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


# -- the system under test --------------------------------------------------------------------


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


SystemUnderTest = LocalStack | DeployedStack


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
    local = LocalStack(
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
    options = {"endpoint_url": outputs.aws_endpoint_url, "region_name": outputs.region}
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("cognito-idp", **options) as cognito,
        session.create_client("events", **options) as events,
        session.create_client("sqs", **options) as sqs,
    ):
        bus = outputs.event_bus_name
        for rule in RULES:
            name = stack_name(rule.name, suffix)
            with contextlib.suppress(ClientError):
                targets = await events.list_targets_by_rule(Rule=name, EventBusName=bus)
                ids = [t["Id"] for t in targets["Targets"]]
                if ids:
                    await events.remove_targets(Rule=name, EventBusName=bus, Ids=ids)
                await events.delete_rule(Name=name, EventBusName=bus)
        with contextlib.suppress(ClientError):
            await events.delete_event_bus(Name=stack_name(EVENT_BUS.name, suffix))
        names = [stack_name(q.name, suffix) for q in STREAM_FAILURE_QUEUES]
        for queue in (stack_queue(q, suffix) for q in CONSUMER_QUEUES):
            names += [queue.name, queue.dead_letter.name]
        for name in names:
            with contextlib.suppress(ClientError):
                url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
                await sqs.delete_queue(QueueUrl=url)
        with contextlib.suppress(ClientError):
            await cognito.delete_user_pool(UserPoolId=outputs.user_pool_id)
        with contextlib.suppress(ClientError):
            await dynamodb.delete_table(TableName=stack_name(TABLE_NAME, suffix))


@pytest.fixture(scope="session")
def api_url(stack: SystemUnderTest) -> str:
    """Base URL of the HTTP API: the local gateway, or the deployed stage's."""
    return stack.api_url


@pytest.fixture(scope="session")
def table_name(stack: SystemUnderTest) -> str:
    return stack.outputs.table_name


def client_options(stack: SystemUnderTest) -> dict[str, Any]:
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


@asynccontextmanager
async def events_of(stack: SystemUnderTest, source: str) -> AsyncIterator[tuple[Any, str]]:
    """An SQS queue receiving every event of ``source`` from the bus, through a rule of its own.

    Yields the SQS client and the queue URL; the rule and the queue are removed afterwards.
    """
    name = f"test-{uuid.uuid4().hex[:8]}"
    bus = stack.outputs.event_bus_name
    session = get_session()
    async with (
        session.create_client("sqs", **client_options(stack)) as sqs,
        session.create_client("events", **client_options(stack)) as events,
    ):
        queue_url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
        attributes = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        pattern = json.dumps({"source": [source]})
        rule = await events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
        # AWS delivers to a queue only if its policy lets the rule send (emulators do not check).
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule["RuleArn"]}},
                }
            ],
        }
        await sqs.set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)}
        )
        await events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        yield sqs, queue_url
        await events.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
        await events.delete_rule(Name=name, EventBusName=bus)
        await sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture(scope="session")
async def dynamodb(stack: SystemUnderTest) -> AsyncIterator[DynamoDBClient]:
    """A DynamoDB client on the system under test (the real SDK over HTTP)."""
    async with get_session().create_client("dynamodb", **client_options(stack)) as client:
        yield client


@pytest.fixture(scope="session")
async def cognito(stack: SystemUnderTest) -> AsyncIterator[CognitoIdentityProviderClient]:
    """A Cognito client on the system under test."""
    async with get_session().create_client("cognito-idp", **client_options(stack)) as client:
        yield client


@pytest.fixture(scope="session")
async def dynamodb_streams(stack: SystemUnderTest) -> AsyncIterator[Any]:
    """A DynamoDB Streams client on the system under test (no type stubs are installed)."""
    async with get_session().create_client("dynamodbstreams", **client_options(stack)) as client:
        yield client


@pytest.fixture(scope="session")
async def sqs(stack: SystemUnderTest) -> AsyncIterator[SQSClient]:
    """An SQS client on the system under test."""
    async with get_session().create_client("sqs", **client_options(stack)) as client:
        yield client


@pytest.fixture(scope="session")
async def events(stack: SystemUnderTest) -> AsyncIterator[EventBridgeClient]:
    """An EventBridge client on the system under test."""
    async with get_session().create_client("events", **client_options(stack)) as client:
        yield client


# -- what the asynchronous consumers did ------------------------------------------------------


async def eventually[T](probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Probe until ``done`` holds or fifteen seconds pass; the last result either way."""
    for _ in range(150):
        result = await probe()
        if done(result):
            return result
        await asyncio.sleep(0.1)
    return result


async def notifications_of(db: DynamoDBClient, table: str, user_id: str) -> list[Notification]:
    """The user's notifications as the consumer stored them, newest first (up to 100)."""
    page = await notification_table.notifications_of_user(
        db, table, user_id, limit=100, cursor=None
    )
    return page.items


async def marker_of(db: DynamoDBClient, table: str, event_id: str) -> ProcessedMarker | None:
    """The consumer's marker of having handled ``event_id`` (repeats counted), if it has."""
    key = as_key(notification_table.marker_key(event_id))
    item = (await db.get_item(TableName=table, Key=key, ConsistentRead=True)).get("Item")
    return from_item(item, ProcessedMarker) if item else None


@dataclass
class SignedInUser:
    """A confirmed Cognito user with fresh tokens."""

    email: str
    user_id: str
    access_token: str
    id_token: str
    refresh_token: str
    groups: tuple[str, ...] = field(default=())

    @property
    def headers(self) -> dict[str, str]:
        """Headers of an authenticated JSON request."""
        return {"Authorization": f"Bearer {self.access_token}"}


UserFactory = Callable[..., Awaitable[SignedInUser]]


# -- Cognito users, each deleted at teardown --------------------------------------------------

# Deleting a session's users concurrently, within Cognito's per-second quota.
_DELETIONS_AT_ONCE: Final = 8


def account_email(label: str, pattern: str = TEST_EMAIL_PATTERN) -> str:
    """A new address: ``pattern`` with ``{id}`` replaced by ``label`` and a random suffix."""
    return pattern.replace("{id}", f"{label}-{uuid.uuid4().hex[:10]}")


def mailbox_pattern(kind: str, configured: str | None) -> str:
    """The address pattern of accounts Cognito will email on backend ``kind``, or a skip.

    Emulators send no email: test-domain addresses do. A deployed stage sends it, so only to
    the mailbox of whoever runs the tests, as the ``E2E_EMAIL`` pattern (``configured``) says.
    """
    if kind != "aws":
        return TEST_EMAIL_PATTERN
    if not configured:
        pytest.skip(
            "makes Cognito send an email (sign-up or reset code), which EMULATOR=aws sends "
            f"only to a mailbox of yours: set {E2E_EMAIL} to an address pattern such as "
            "me+{id}@mydomain.com to run it"
        )
    if configured.count("{id}") != 1 or "@" not in configured.partition("{id}")[2]:
        raise pytest.UsageError(
            f"{E2E_EMAIL} must be an email address with {{id}} once before the @, "
            f"e.g. me+{{id}}@mydomain.com; it is {configured!r}"
        )
    # The auth API registers an email in lower case: the tests' addresses match what it stores.
    return configured.lower()


def made_users_pattern(kind: str) -> str:
    """The address pattern of users made through the admin API on backend ``kind``."""
    return SES_SIMULATOR_PATTERN if kind == "aws" else TEST_EMAIL_PATTERN


class AccountEmails:
    """Addresses for the accounts one test registers; the fixture deletes those accounts."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.issued: list[str] = []

    def new(self, label: str) -> str:
        """A new address to register an account with (Cognito emails it on a deployed stage)."""
        address = account_email(label, self.pattern)
        self.issued.append(address)
        return address


async def delete_users(
    cognito: CognitoIdentityProviderClient, pool_id: str, emails: Iterable[str]
) -> None:
    """Delete the pool's users of ``emails``; one already gone (its test deleted it) is fine."""
    at_once = asyncio.Semaphore(_DELETIONS_AT_ONCE)

    async def delete(email: str) -> None:
        async with at_once:
            with contextlib.suppress(cognito.exceptions.UserNotFoundException):
                await cognito.admin_delete_user(UserPoolId=pool_id, Username=email)

    # The auth API registers an email in lower case. Every deletion is tried before a failure
    # is raised, so one refusal leaves no other user behind.
    unique = dict.fromkeys(email.lower() for email in emails)
    outcomes = await asyncio.gather(*map(delete, unique), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]


@pytest.fixture
async def account_emails(
    stack: SystemUnderTest, cognito: CognitoIdentityProviderClient
) -> AsyncIterator[AccountEmails]:
    """Addresses for a test that registers accounts (skipped on aws without ``E2E_EMAIL``).

    Registering makes Cognito email a code; every account registered is deleted afterwards.
    """
    emails = AccountEmails(mailbox_pattern(target().kind, os.environ.get(E2E_EMAIL)))
    yield emails
    await delete_users(cognito, stack.outputs.user_pool_id, emails.issued)


@pytest.fixture(scope="session")
async def make_user(
    stack: SystemUnderTest, cognito: CognitoIdentityProviderClient
) -> AsyncIterator[UserFactory]:
    """Create confirmed users through Cognito's admin API and log them in; deleted at the end.

    They are created with no message (``SUPPRESS``): Cognito emails nobody. On a deployed stage
    their addresses are SES's mailbox simulator, where the notifications service's emails go.
    """
    pool_id = stack.outputs.user_pool_id
    client_id = stack.outputs.user_pool_client_id
    created: list[str] = []

    async def create(*groups: str) -> SignedInUser:
        email = account_email("user", made_users_pattern(target().kind))
        created.append(email)  # before the call: a user half set up is deleted too
        await cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        await cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            await cognito.admin_add_user_to_group(
                UserPoolId=pool_id, Username=email, GroupName=group
            )
        tokens = (
            await cognito.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
            )
        )["AuthenticationResult"]
        claims = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
        return SignedInUser(
            email=email,
            user_id=claims["sub"],
            access_token=tokens["AccessToken"],
            id_token=tokens["IdToken"],
            refresh_token=tokens["RefreshToken"],
            groups=groups,
        )

    yield create
    await delete_users(cognito, pool_id, created)


@pytest.fixture(scope="session")
async def admin(make_user: UserFactory) -> SignedInUser:
    """A member of the admin group."""
    return await make_user(ADMIN_GROUP)


@pytest.fixture
async def alice(make_user: UserFactory) -> SignedInUser:
    """A fresh customer for one test."""
    return await make_user()


@pytest.fixture
async def bob(make_user: UserFactory) -> SignedInUser:
    """Another fresh customer, to prove isolation."""
    return await make_user()
