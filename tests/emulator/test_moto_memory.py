"""moto keeps no copy of a table per transaction: memory stays flat under TransactWriteItems,
and a cancelled transaction still leaves the table (and its stream) as it was."""

from __future__ import annotations

import gc
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from emulator.backends import Backend
from emulator.moto_memory import limit_moto_memory, tracked_instances
from tests.emulator.conftest import create_streamed_table

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

ITEMS_IN_TABLE = 400
TRANSACTIONS = 30
# What the 30 new items and their stream records may legitimately add; one leaked copy of a
# 400-item table per transaction would be several times this.
ALLOWED_GROWTH_BYTES = 2 * 1024 * 1024


async def full_table(dynamodb: DynamoDBClient) -> str:
    """A table with a stream and ``ITEMS_IN_TABLE`` items, like the main table after a while."""
    name = await create_streamed_table(dynamodb, "memory")
    for start in range(0, ITEMS_IN_TABLE, 25):
        await dynamodb.batch_write_item(
            RequestItems={
                name: [
                    {"PutRequest": {"Item": order_item(f"seed-{index}")}}
                    for index in range(start, start + 25)
                ]
            }
        )
    return name


def order_item(order_id: str) -> dict[str, Any]:
    return {
        "PK": {"S": f"ORDER#{order_id}"},
        "SK": {"S": "DETAILS"},
        "items": {"L": [{"M": {"productId": {"S": "usb-c-hub"}, "quantity": {"N": "2"}}}]},
        "total": {"N": "5998"},
    }


async def place(dynamodb: DynamoDBClient, table: str, order_id: str) -> None:
    """An order and its idempotency record in one transaction, as POST /orders writes them."""
    absent = "attribute_not_exists(PK)"
    await dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": order_item(order_id),
                    "ConditionExpression": absent,
                }
            },
            {
                "Put": {
                    "TableName": table,
                    "Item": {"PK": {"S": f"IDEMPOTENCY#{order_id}"}, "SK": {"S": "RECORD"}},
                    "ConditionExpression": absent,
                }
            },
        ]
    )


async def test_transactions_leave_no_tracked_instances_and_no_table_copies(
    own_moto_dynamodb: DynamoDBClient,
) -> None:
    # Given a table of a few hundred items, and one transaction already served
    table = await full_table(own_moto_dynamodb)
    await place(own_moto_dynamodb, table, "warm-up")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        # When thirty more orders are placed, each deep-copying the table for rollback
        for index in range(TRANSACTIONS):
            await place(own_moto_dynamodb, table, f"order-{index}")
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Then moto tracks no model instances, and memory grew by the new items only
    assert tracked_instances() == 0
    assert growth < ALLOWED_GROWTH_BYTES, f"memory grew {growth / 1e6:.1f} MB"
    count = await own_moto_dynamodb.scan(TableName=table, Select="COUNT")
    assert count["Count"] == ITEMS_IN_TABLE + 2 * (TRANSACTIONS + 1)


async def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(
    own_moto_dynamodb: DynamoDBClient, own_moto: Backend
) -> None:
    # Given an order already placed, and the stream records written so far
    table = await full_table(own_moto_dynamodb)
    await place(own_moto_dynamodb, table, "first")
    first = {"PK": {"S": "ORDER#first"}, "SK": {"S": "DETAILS"}}
    records_before = await stream_records(own_moto, own_moto_dynamodb, table)
    # When a transaction writes a new item, updates the order, deletes a seeded item, then fails
    # its condition on the order's idempotency record
    with pytest.raises(ClientError, match="TransactionCanceled"):
        await own_moto_dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": order_item("second")}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": first,
                        "UpdateExpression": "SET #status = :cancelled",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":cancelled": {"S": "CANCELLED"}},
                    }
                },
                {
                    "Delete": {
                        "TableName": table,
                        "Key": {"PK": {"S": "ORDER#seed-0"}, "SK": {"S": "DETAILS"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": "IDEMPOTENCY#first"}, "SK": {"S": "RECORD"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    # Then nothing it wrote remains: no new item, the order unchanged, the seeded item still there
    second = {"PK": {"S": "ORDER#second"}, "SK": {"S": "DETAILS"}}
    assert "Item" not in await own_moto_dynamodb.get_item(TableName=table, Key=second)
    assert (await own_moto_dynamodb.get_item(TableName=table, Key=first))["Item"] == order_item(
        "first"
    )
    seeded = {"PK": {"S": "ORDER#seed-0"}, "SK": {"S": "DETAILS"}}
    assert "Item" in await own_moto_dynamodb.get_item(TableName=table, Key=seeded)
    # And the stream carries no record of it
    assert await stream_records(own_moto, own_moto_dynamodb, table) == records_before


async def test_the_stream_after_a_cancelled_transaction_holds_only_committed_writes(
    own_moto_dynamodb: DynamoDBClient, own_moto: Backend
) -> None:
    # Given an order placed, and the stream as it is then
    table = await full_table(own_moto_dynamodb)
    await place(own_moto_dynamodb, table, "first")
    records_before = await stream_records(own_moto, own_moto_dynamodb, table)
    # When a transaction writes a stray item and is cancelled (a reused idempotency key)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        await own_moto_dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": order_item("stray")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": "IDEMPOTENCY#first"}, "SK": {"S": "RECORD"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    # And the next order commits
    await place(own_moto_dynamodb, table, "second")
    # Then the stream gained exactly that order's two inserts, in sequence
    records = await stream_records(own_moto, own_moto_dynamodb, table)
    assert records[: len(records_before)] == records_before
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in records[len(records_before) :]] == [
        "ORDER#second",
        "IDEMPOTENCY#second",
    ]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))


async def stream_records(
    backend: Backend, dynamodb: DynamoDBClient, table: str
) -> list[dict[str, Any]]:
    """Every record on the table's stream, oldest first."""
    arn = (await dynamodb.describe_table(TableName=table))["Table"]["LatestStreamArn"]
    options: dict[str, Any] = {
        "endpoint_url": backend.endpoint_url,
        "region_name": backend.region,
    }
    async with get_session().create_client("dynamodbstreams", **options) as streams:
        shards = (await streams.describe_stream(StreamArn=arn))["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            iterator = (
                await streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )
            )["ShardIterator"]
            records += (await streams.get_records(ShardIterator=iterator, Limit=1000))["Records"]
        return records


def test_the_fixes_are_installed_once() -> None:
    # Given moto started in this process (the module's backend) and the fixes applied again
    limit_moto_memory()
    # Then models are still constructed, and not tracked
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    item = Item(hash_key=DynamoType({"S": "k"}), range_key=None, attrs={})
    assert isinstance(item, Item)
    assert item not in vars(Item).get("instances_tracked", [])
    # And transactions are wrapped once, not once per start
    transact = DynamoDBBackend.transact_write_items
    assert getattr(transact, "_emulator_saved_items", False)
    assert not getattr(vars(transact)["__wrapped__"], "_emulator_saved_items", False)
