"""Session fixtures: one embedded emulator, its resources, the local gateway and Cognito users."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from aiobotocore.session import get_session

from emulator.local_stack import LocalStack
from emulator.seed import seed_demo_data
from libs.resources.user_pool import ADMIN_GROUP

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient

PASSWORD = "Correct-Horse-7"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local system, started once for the test session."""
    outputs = Path(tmp_path_factory.mktemp("local")) / "outputs.json"
    with LocalStack(port=0, outputs_path=outputs, seed=seed_demo_data) as running:
        yield running


@pytest.fixture(scope="session")
def api_url(stack: LocalStack) -> str:
    """Base URL of the local HTTP API."""
    return stack.api_url


@pytest.fixture(scope="session")
def table_name(stack: LocalStack) -> str:
    return stack.outputs.table_name


def _client_options(stack: LocalStack) -> dict[str, Any]:
    return {
        "endpoint_url": stack.endpoint_url,
        "region_name": stack.outputs.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


@asynccontextmanager
async def events_of(stack: LocalStack, source: str) -> AsyncIterator[tuple[Any, str]]:
    """An SQS queue receiving every event of ``source`` from the bus, through a rule of its own.

    Yields the SQS client and the queue URL; the rule and the queue are removed afterwards.
    """
    name = f"test-{uuid.uuid4().hex[:8]}"
    bus = stack.outputs.event_bus_name
    session = get_session()
    async with (
        session.create_client("sqs", **_client_options(stack)) as sqs,
        session.create_client("events", **_client_options(stack)) as events,
    ):
        queue_url = (await sqs.create_queue(QueueName=name))["QueueUrl"]
        attributes = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        pattern = json.dumps({"source": [source]})
        await events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
        target = {"Id": "q", "Arn": attributes["Attributes"]["QueueArn"]}
        await events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
        yield sqs, queue_url
        await events.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
        await events.delete_rule(Name=name, EventBusName=bus)
        await sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture(scope="session")
async def dynamodb(stack: LocalStack) -> AsyncIterator[DynamoDBClient]:
    """A DynamoDB client on the emulator (the real SDK over HTTP)."""
    async with get_session().create_client("dynamodb", **_client_options(stack)) as client:
        yield client


@pytest.fixture(scope="session")
async def cognito(stack: LocalStack) -> AsyncIterator[CognitoIdentityProviderClient]:
    """A Cognito client on the emulator."""
    async with get_session().create_client("cognito-idp", **_client_options(stack)) as client:
        yield client


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


@pytest.fixture(scope="session")
def make_user(stack: LocalStack, cognito: CognitoIdentityProviderClient) -> UserFactory:
    """Create a confirmed user through Cognito's admin API and log them in."""
    pool_id = stack.outputs.user_pool_id
    client_id = stack.outputs.user_pool_client_id

    async def create(*groups: str) -> SignedInUser:
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
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

    return create


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
