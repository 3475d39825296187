"""moto, asked for ReturnConsumedCapacity, answers the units AWS would charge for what it did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

KB = 1024


def item(pk: str, payload_bytes: int, **more: str) -> dict[str, Any]:
    """An item of ``PK``, ``SK`` and a ``payload`` string of about ``payload_bytes``."""
    attributes = {"PK": pk, "SK": "A", "payload": "x" * payload_bytes, **more}
    return {name: {"S": value} for name, value in attributes.items()}


def units(response: Any) -> float:
    consumed = response["ConsumedCapacity"]
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry["CapacityUnits"] for entry in entries))


async def test_get_item_charges_by_4_kb_and_half_for_an_eventual_read(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given an item of about 5 KB
    await own_moto_dynamodb.put_item(TableName=table, Item=item("big", 5 * KB))
    key = {"PK": {"S": "big"}, "SK": {"S": "A"}}
    # When it is read eventually, then strongly consistently
    eventual = await own_moto_dynamodb.get_item(
        TableName=table, Key=key, ReturnConsumedCapacity="TOTAL"
    )
    strong = await own_moto_dynamodb.get_item(
        TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )
    # Then two 4 KB units, halved for the eventual read
    assert units(eventual) == 1.0
    assert units(strong) == 2.0


async def test_put_and_update_charge_by_1_kb_and_for_each_index_write(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given a 2.5 KB item put into the table and GSI1
    put = await own_moto_dynamodb.put_item(
        TableName=table,
        Item=item("order", 2500, GSI1PK="USER#1", GSI1SK="ORDER#1"),
        ReturnConsumedCapacity="TOTAL",
    )
    # When a small attribute changes
    update = await own_moto_dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": "order"}, "SK": {"S": "A"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "PAID"}},
        ReturnConsumedCapacity="TOTAL",
    )
    # Then each is three units in the table and three in the index
    assert units(put) == 6.0
    assert units(update) == 6.0


async def test_a_transaction_doubles_its_writes(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # When two small items are put in one transaction (no index key)
    response = await own_moto_dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": item("t1", 10)}},
            {"Put": {"TableName": table, "Item": item("t2", 10)}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    # Then each costs two units
    assert units(response) == 4.0


async def test_a_query_adds_up_the_items_it_read_then_rounds_once(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given three items of 1.5 KB under one index value
    for n in range(3):
        await own_moto_dynamodb.put_item(
            TableName=table, Item=item(f"q{n}", 1500, GSI1PK="CAT", GSI1SK=f"{n}")
        )
    # When the index is queried for all of them
    response = await own_moto_dynamodb.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :c",
        ExpressionAttributeValues={":c": {"S": "CAT"}},
        ReturnConsumedCapacity="TOTAL",
    )
    # Then ~4.6 KB read: two 4 KB units, halved (index reads are eventually consistent)
    assert len(response["Items"]) == 3
    assert units(response) == 1.0


async def test_without_the_request_no_capacity_is_reported(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    response = await own_moto_dynamodb.get_item(
        TableName=table, Key={"PK": {"S": "none"}, "SK": {"S": "A"}}
    )
    assert "ConsumedCapacity" not in response
