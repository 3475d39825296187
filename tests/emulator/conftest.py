"""Fixtures for the tests of moto's own behaviour: a moto server per test module, apart from the
session's stack (named so as not to shadow the session-wide ``dynamodb`` of tests/conftest.py)."""

from __future__ import annotations

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
    options = {"endpoint_url": own_moto.endpoint_url, "region_name": own_moto.region}
    async with get_session().create_client("dynamodb", **options) as client:
        yield client
