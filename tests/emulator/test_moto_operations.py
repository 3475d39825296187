"""The guard against table-wide reads: a function's Scan is counted and fails the test; a
test's own Scan, or a function's Query, is not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from emulator.backends import Backend
from emulator.function_pool import FunctionPool
from emulator.moto_operations import function_operations, table_wide_reads
from libs.resources.functions import FunctionDeclaration
from tests.emulator.conftest import create_streamed_table
from tests.scan_guard import refuse_table_wide_reads

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

SAMPLE = FunctionDeclaration(
    service="sample", handler="tests.emulator.sample_function.handler", timeout_seconds=20
)


@pytest.fixture
def function() -> Iterator[FunctionPool]:
    """A local Lambda function (its own process, as the gateway's functions run)."""
    pool = FunctionPool(SAMPLE, {}, function_name="blueprint-sample")
    yield pool
    pool.close()


def call(own_moto: Backend, operation: str, **parameters: Any) -> dict[str, Any]:
    return {
        "action": "dynamodb",
        "endpoint_url": own_moto.endpoint_url,
        "region": own_moto.region,
        "operation": operation,
        "parameters": parameters,
    }


async def test_a_function_scan_is_counted_and_fails_the_guard(
    own_moto: Backend, own_moto_dynamodb: DynamoDBClient, function: FunctionPool
) -> None:
    # Given a table and the count of what functions sent so far
    table = await create_streamed_table(own_moto_dynamodb, "guard")
    before = function_operations(own_moto.endpoint_url)
    # When a function scans it
    await function.invoke(call(own_moto, "scan", TableName=table))
    # Then the Scan is counted as a function's
    assert table_wide_reads(before, function_operations(own_moto.endpoint_url)) == {"Scan": 1}
    # And only to that moto: another endpoint's count (the session's, say) is untouched
    assert function_operations("http://127.0.0.1:1") == {}
    # And the guard the end-to-end suite runs fails, naming the operation
    with pytest.raises(pytest.fail.Exception, match="Scan"):
        refuse_table_wide_reads(before, own_moto.endpoint_url, "this test")


async def test_a_function_query_and_a_test_scan_pass_the_guard(
    own_moto: Backend, own_moto_dynamodb: DynamoDBClient, function: FunctionPool
) -> None:
    # Given a table and the count of what functions sent so far
    table = await create_streamed_table(own_moto_dynamodb, "guard")
    before = function_operations(own_moto.endpoint_url)
    # When a function queries one partition and the test itself scans the table
    key = {":pk": {"S": "USER#1"}}
    await function.invoke(
        call(
            own_moto,
            "query",
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=key,
            Limit=5,
        )
    )
    await own_moto_dynamodb.scan(TableName=table)
    # Then the Query is counted, no Scan is, and the guard passes
    after = function_operations(own_moto.endpoint_url)
    assert after["Query"] - before["Query"] == 1
    assert table_wide_reads(before, after) == {}
    refuse_table_wide_reads(before, own_moto.endpoint_url, "this test")
