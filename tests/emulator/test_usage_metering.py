"""Metered runs: a container reports each invocation's duration, log bytes and AWS usage, and a
function's clients ask DynamoDB for the capacity each call consumed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from emulator.backends import Backend
from emulator.function_pool import FunctionPool
from emulator.usage_ledger import LEDGER
from libs.aws_clients import AwsClients
from libs.aws_usage import ENV_VARIABLE, take_usage
from libs.resources.functions import FunctionDeclaration
from tests.emulator.conftest import create_streamed_table

SAMPLE = FunctionDeclaration(
    service="sample",
    handler="tests.emulator.sample_function.handler",
    memory_mb=512,
    timeout_seconds=5,
)


async def test_a_metered_container_reports_duration_and_log_bytes_per_route() -> None:
    # Given a metered pool of a 512 MB function
    pool = FunctionPool(SAMPLE, {ENV_VARIABLE: "1"}, function_name="metered-sample")
    route = f"GET /sample-{uuid.uuid4().hex[:8]}"
    before = LEDGER.snapshot()
    try:
        # When one request logs 100 characters and another sleeps 50 ms
        await pool.invoke({"routeKey": route, "action": "log", "text": "x" * 100})
        await pool.invoke({"routeKey": route, "action": "sleep", "seconds": 0.05})
    finally:
        pool.close()
    # Then both are booked under the route, with the line logged and the time slept
    usage = LEDGER.since(before)[route]
    assert usage.invocations == 2
    assert usage.log_bytes >= 101
    assert usage.billed_ms >= 50
    assert usage.gb_seconds == pytest.approx(usage.billed_ms / 1000 * 512 / 1024)


async def test_an_unmetered_container_reports_nothing() -> None:
    pool = FunctionPool(SAMPLE, {}, function_name="unmetered-sample")
    route = f"GET /sample-{uuid.uuid4().hex[:8]}"
    try:
        await pool.invoke({"routeKey": route, "action": "log", "text": "x"})
    finally:
        pool.close()
    assert route not in LEDGER.snapshot()


@pytest.fixture
async def metered_clients(
    own_moto: Backend, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AwsClients]:
    monkeypatch.setenv(ENV_VARIABLE, "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", own_moto.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", own_moto.region)
    clients = AwsClients()
    yield clients
    await clients.close()


async def test_metered_clients_count_capacity_and_outbox_events(
    metered_clients: AwsClients,
) -> None:
    # Given a metered DynamoDB client and a table
    db = await metered_clients.dynamodb()
    table = await create_streamed_table(db, "metered")
    take_usage()
    # When an order and its outbox event are written in one transaction, then the order read
    order = {"PK": {"S": "ORDER#1"}, "SK": {"S": "DETAILS"}}
    event = {
        "PK": {"S": "OUTBOX#e1"},
        "SK": {"S": "EVENT"},
        "detailType": {"S": "OrderCreated"},
    }
    await db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": order}},
            {"Put": {"TableName": table, "Item": event}},
        ]
    )
    await db.get_item(TableName=table, Key=order)
    usage = take_usage()
    # Then two transactional writes of under 1 KB, one eventually consistent read, one event
    assert usage.write_units == 4.0
    assert usage.read_units == 0.5
    assert usage.outbox_events == {"OrderCreated": 1}
    assert usage.calls == {"dynamodb TransactWriteItems": 1, "dynamodb GetItem": 1}
