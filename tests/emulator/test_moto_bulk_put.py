"""moto's bulk-put route: items land as BatchWriteItem would put them, with no stream record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from emulator.backends import Backend
from emulator.bulk_seed import bulk_put
from emulator.moto_bulk_put import BULK_PUT_PATH
from tests.emulator.conftest import create_streamed_table
from tests.emulator.test_moto_memory import stream_records

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def an_item(number: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"ITEM#{number:04d}"},
        "SK": {"S": "INFO"},
        "n": {"N": str(number)},
        "lines": {"L": [{"M": {"sku": {"S": "a"}, "qty": {"N": "2"}}}]},
    }


async def test_bulk_put_items_read_back_as_written_and_reach_no_stream(
    own_moto: Backend, own_moto_dynamodb: DynamoDBClient
) -> None:
    # Given a table with a stream, and one item already in it
    table = await create_streamed_table(own_moto_dynamodb, "bulk")
    await own_moto_dynamodb.put_item(TableName=table, Item=an_item(0) | {"old": {"BOOL": True}})
    records_before = await stream_records(own_moto, own_moto_dynamodb, table)
    # When 250 items, the first with the same key, are put in requests of 100
    items = [an_item(number) for number in range(250)]
    written = await bulk_put(
        own_moto.endpoint_url, own_moto.region, table, iter(items), per_request=100
    )
    # Then every one reads back as it was sent, the earlier item replaced whole
    assert written == 250
    for item in (items[0], items[137], items[249]):
        key = {"PK": item["PK"], "SK": item["SK"]}
        got = await own_moto_dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
        assert got["Item"] == item
    # And the stream has no record of them
    assert len(await stream_records(own_moto, own_moto_dynamodb, table)) == len(records_before)
    # While a put through the API afterwards is streamed again
    await own_moto_dynamodb.put_item(TableName=table, Item=an_item(999))
    after = await stream_records(own_moto, own_moto_dynamodb, table)
    assert len(after) == len(records_before) + 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"region": "us-east-1", "table": "no-such-table", "items": [{}]}'],
)
async def test_a_bad_bulk_put_is_a_400_naming_the_problem(own_moto: Backend, body: bytes) -> None:
    # Given a body that is no BulkPut, or names a table that does not exist
    async with (
        aiohttp.ClientSession() as http,
        # When it is posted to the route
        http.post(own_moto.endpoint_url + BULK_PUT_PATH, data=body) as response,
    ):
        answer = await response.json()
    # Then it is refused with the reason
    assert response.status == 400
    assert answer["error"]


async def test_a_refused_chunk_stops_the_seed_with_moto_s_reason(own_moto: Backend) -> None:
    # Given a table that does not exist, and more chunks than requests in flight
    items = iter([an_item(number) for number in range(50)])
    # When the items are bulk-put ten at a time, then the first refusal is raised, not waited on
    with pytest.raises(RuntimeError, match="HTTP 400"):
        await bulk_put(own_moto.endpoint_url, own_moto.region, "missing", items, per_request=10)
