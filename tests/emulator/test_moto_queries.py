"""Query reads one partition (table or index) and still answers exactly as a full scan would."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def order(order_id: str, user: str, created: str) -> dict[str, Any]:
    return {
        "PK": {"S": f"ORDER#{order_id}"},
        "SK": {"S": "DETAILS"},
        "GSI1PK": {"S": f"USER#{user}"},
        "GSI1SK": {"S": f"ORDER#{created}#{order_id}"},
    }


async def orders_of(
    dynamodb: DynamoDBClient, table: str, user: str, *, forward: bool = True, limit: int = 2
) -> list[str]:
    """Every order id of ``user`` through GSI1, read page by page."""
    ids: list[str] = []
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :user",
        "ExpressionAttributeValues": {":user": {"S": f"USER#{user}"}},
        "ScanIndexForward": forward,
        "Limit": limit,
    }
    while True:
        page = await dynamodb.query(**request)
        ids += [item["PK"]["S"].removeprefix("ORDER#") for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return ids
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


async def test_an_index_query_finds_items_written_before_and_after_it_was_first_used(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given two users' orders, written before the index is first queried
    for order_id, user, created in (("a", "ann", "1"), ("b", "bob", "2"), ("c", "ann", "3")):
        await own_moto_dynamodb.put_item(TableName=table, Item=order(order_id, user, created))
    assert await orders_of(own_moto_dynamodb, table, "ann") == ["a", "c"]
    # When more are written after
    await own_moto_dynamodb.put_item(TableName=table, Item=order("d", "ann", "0"))
    await own_moto_dynamodb.put_item(TableName=table, Item=order("e", "bob", "4"))
    # Then each user's query holds exactly their orders, in index order, both ways, over pages
    assert await orders_of(own_moto_dynamodb, table, "ann") == ["d", "a", "c"]
    assert await orders_of(own_moto_dynamodb, table, "ann", forward=False) == ["c", "a", "d"]
    assert await orders_of(own_moto_dynamodb, table, "bob", limit=1) == ["b", "e"]
    assert await orders_of(own_moto_dynamodb, table, "nobody") == []


async def test_an_item_moved_to_another_index_value_is_found_only_there(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given ann's two orders, queried once
    await own_moto_dynamodb.put_item(TableName=table, Item=order("a", "ann", "1"))
    await own_moto_dynamodb.put_item(TableName=table, Item=order("b", "ann", "2"))
    assert await orders_of(own_moto_dynamodb, table, "ann") == ["a", "b"]
    # When one moves to bob by UpdateItem, and the other is replaced by a PutItem for carl
    await own_moto_dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": "ORDER#a"}, "SK": {"S": "DETAILS"}},
        UpdateExpression="SET GSI1PK = :bob",
        ExpressionAttributeValues={":bob": {"S": "USER#bob"}},
    )
    await own_moto_dynamodb.put_item(TableName=table, Item=order("b", "carl", "2"))
    # Then each is found under its new value only
    assert await orders_of(own_moto_dynamodb, table, "ann") == []
    assert await orders_of(own_moto_dynamodb, table, "bob") == ["a"]
    assert await orders_of(own_moto_dynamodb, table, "carl") == ["b"]


async def test_deleted_and_rolled_back_items_are_not_found(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given ann's order, queried once
    await own_moto_dynamodb.put_item(TableName=table, Item=order("a", "ann", "1"))
    assert await orders_of(own_moto_dynamodb, table, "ann") == ["a"]
    # When it is deleted, and a cancelled transaction writes another of hers
    await own_moto_dynamodb.delete_item(
        TableName=table, Key={"PK": {"S": "ORDER#a"}, "SK": {"S": "DETAILS"}}
    )
    with pytest.raises(ClientError, match="TransactionCanceled"):
        await own_moto_dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": order("b", "ann", "2")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": "ORDER#missing"}, "SK": {"S": "DETAILS"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    # Then neither is found
    assert await orders_of(own_moto_dynamodb, table, "ann") == []


async def test_a_table_query_reads_its_partition_with_its_conditions(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given a user's profile and notifications, and another user's
    items = [("USER#ann", "PROFILE"), ("USER#ann", "NOTIF#2"), ("USER#ann", "NOTIF#1")]
    for pk, sk in [*items, ("USER#bob", "NOTIF#9")]:
        await own_moto_dynamodb.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": sk}})
    # When ann's notifications are queried newest first
    page = await own_moto_dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :notif)",
        ExpressionAttributeValues={":pk": {"S": "USER#ann"}, ":notif": {"S": "NOTIF#"}},
        ScanIndexForward=False,
    )
    # Then exactly hers come back, in order
    assert [item["SK"]["S"] for item in page["Items"]] == ["NOTIF#2", "NOTIF#1"]


async def test_random_writes_leave_every_query_equal_to_a_filtered_scan(
    own_moto_dynamodb: DynamoDBClient, table: str
) -> None:
    # Given a few hundred random puts, updates and deletes over a handful of users
    chance = random.Random(6)
    users = ["ann", "bob", "carl", "dora"]
    for step in range(300):
        order_id = f"o{chance.randrange(60)}"
        action = chance.random()
        key = {"PK": {"S": f"ORDER#{order_id}"}, "SK": {"S": "DETAILS"}}
        if action < 0.5:
            item = order(order_id, chance.choice(users), f"{chance.randrange(1000):04d}")
            await own_moto_dynamodb.put_item(TableName=table, Item=item)
        elif action < 0.8:
            await own_moto_dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET GSI1PK = :user, GSI1SK = :sk",
                ExpressionAttributeValues={
                    ":user": {"S": f"USER#{chance.choice(users)}"},
                    ":sk": {"S": f"ORDER#{step:04d}#{order_id}"},
                },
            )
        else:
            await own_moto_dynamodb.delete_item(TableName=table, Key=key)
        if step % 50 == 0:
            # indexes (and their kept order) in use meanwhile, read both ways
            await orders_of(own_moto_dynamodb, table, chance.choice(users))
            await orders_of(own_moto_dynamodb, table, chance.choice(users), forward=False)
    # Then each user's index query returns what a scan finds for them, in index order
    scanned = (await own_moto_dynamodb.scan(TableName=table))["Items"]
    for user in users:
        expected = sorted(
            (item["GSI1SK"]["S"], item["PK"]["S"].removeprefix("ORDER#"))
            for item in scanned
            if item.get("GSI1PK", {}).get("S") == f"USER#{user}"
        )
        ids = [order_id for _, order_id in expected]
        assert await orders_of(own_moto_dynamodb, table, user, limit=7) == ids
        # And newest first, page by page, in reverse
        newest_first = await orders_of(own_moto_dynamodb, table, user, forward=False, limit=3)
        assert newest_first == ids[::-1]
