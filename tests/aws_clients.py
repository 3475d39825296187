"""Session clients (the real SDK over HTTP) on the system under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import get_session

from tests.system_under_test import SystemUnderTest, client_options

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_kms import KMSClient
    from types_aiobotocore_sqs import SQSClient


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


@pytest.fixture(scope="session")
async def kms(stack: SystemUnderTest) -> AsyncIterator[KMSClient]:
    """A KMS client on the system under test."""
    async with get_session().create_client("kms", **client_options(stack)) as client:
        yield client
