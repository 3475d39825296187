"""Choosing the emulator: moto in this process (DynamoDB serialized), or an existing endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiobotocore.session import get_session
from moto.dynamodb.responses import DynamoHandler

from emulator.backends import Backend, start_backend


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


def test_localstack_is_announced_for_a_later_change() -> None:
    with pytest.raises(NotImplementedError, match="later change"):
        start_backend("localstack")


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
    assert not getattr(handler.__wrapped__, "_emulator_serialized", False)  # type: ignore[attr-defined]


async def test_concurrent_increments_of_one_item_are_all_applied(moto_backend: Backend) -> None:
    # Given a counter item
    options = {"endpoint_url": moto_backend.endpoint_url, "region_name": moto_backend.region}
    async with get_session().create_client("dynamodb", **options) as dynamodb:  # type: ignore[call-overload]
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
