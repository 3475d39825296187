"""Fixtures for the tests of moto's own behaviour: a moto server per test module, apart from the
session's stack (named so as not to shadow the session-wide ``dynamodb`` of tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import get_session

from emulator.backends import Backend, start_backend

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


@pytest.fixture(scope="module")
def own_moto() -> Iterator[Backend]:
    """moto on a port of its own for one test module, stopped when the module is done."""
    backend = start_backend("moto")
    yield backend
    backend.stop()


@pytest.fixture
async def own_moto_dynamodb(own_moto: Backend) -> AsyncIterator[DynamoDBClient]:
    """A DynamoDB client on the module's own moto."""
    async with get_session().create_client("dynamodb", **own_moto.client_options()) as client:
        yield client


async def create_streamed_table(dynamodb: DynamoDBClient, prefix: str) -> str:
    """A new PK/SK table, as the main one is keyed, with a NEW_AND_OLD_IMAGES stream; its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name


@pytest.fixture
async def table(own_moto_dynamodb: DynamoDBClient) -> str:
    """A table laid out like the main one: PK/SK, and GSI1 on GSI1PK/GSI1SK (all projected)."""
    name = f"gsi1-{uuid.uuid4().hex[:8]}"
    strings = ("PK", "SK", "GSI1PK", "GSI1SK")
    await own_moto_dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in strings],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name
