"""moto's shortcuts change no answer: DynamoDB responses are what its own serializer writes."""

from __future__ import annotations

import http.client
import json
import random
import uuid
from types import MethodType
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from emulator.backends import Backend
from libs.attribute_values import as_sent
from tests.attribute_value_samples import random_value

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def moto_serialized(result: dict[str, Any], operation: str, *, fast: bool) -> Any:
    """What moto's DynamoDB serializer writes for ``result``, with or without the fast path."""
    from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    operation_model = get_service_model("dynamodb").operation_model(operation)
    serializer = get_serializer_class("dynamodb", "json")(
        operation_model=operation_model, value_picker=XFormedAttributePicker()
    )
    if not fast:
        # moto's own methods, as they were before the fast paths wrapped them
        for name in ("_serialize_type_structure", "_serialize_type_map"):
            vars(serializer)[name] = MethodType(
                vars(getattr(BaseJSONSerializer, name))["__wrapped__"], serializer
            )
    return json.loads(serializer.serialize(result)["body"])


def test_query_responses_are_serialized_as_moto_serializes_them(
    own_moto: Backend,
) -> None:
    # Given query results of every attribute form, nested (binary ones among them)
    chance = random.Random(6)
    for _ in range(200):
        items = [
            {f"a{n}": random_value(chance) for n in range(chance.randint(1, 5))}
            for _ in range(chance.randint(0, 4))
        ]
        result = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        # Then the fast path writes exactly what moto's generic serializer writes
        assert moto_serialized(result, "Query", fast=True) == moto_serialized(
            result, "Query", fast=False
        )


def test_items_are_sized_copied_and_made_plain_as_moto_does_it(own_moto: Backend) -> None:
    import copy

    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    # Given stored items of every attribute form, nested (binary ones among them)
    chance = random.Random(11)
    for _ in range(300):
        attributes = {"PK": {"S": "key"}} | {
            f"a{n}": random_value(chance) for n in range(chance.randint(0, 6))
        }
        item = Item(DynamoType({"S": "key"}), None, attributes)
        # Then each is sized as moto sizes it, attribute by attribute and whole
        for value in item.attrs.values():
            assert value.size() == DynamoType.size.__wrapped__(value)  # type: ignore[attr-defined]
        assert item.size() == Item.size.__wrapped__(item)  # type: ignore[attr-defined]
        # And copied into an equal item that shares nothing mutable with it
        twin = copy.deepcopy(item)
        moto_twin = Item.__deepcopy__.__wrapped__(item, {})  # type: ignore[attr-defined]
        assert twin == moto_twin == item
        assert twin.to_json() == item.to_json()
        for name, value in item.attrs.items():
            assert twin.attrs[name] is not value
            if isinstance(value.value, list | dict):
                assert twin.attrs[name].value is not value.value
        # And made plain for the response exactly as moto makes it
        result = {"Items": [item.to_json()["Attributes"], item.attrs], "Count": 2}
        fast = utilities.dynamo_to_dict(result)
        assert fast == utilities.dynamo_to_dict.__wrapped__(result)  # type: ignore[attr-defined]


def test_binary_and_unexpected_values_are_left_to_moto() -> None:
    assert as_sent({"B": "AAEC"}) is None
    assert as_sent({"M": {"x": {"BS": ["AAEC"]}}}) is None
    assert as_sent({"S": "a", "N": "1"}) is None
    assert as_sent({"N": 1}) is None
    assert as_sent({"L": [{"S": "a"}, {"BOOL": "yes"}]}) is None


async def test_an_item_of_every_form_reads_back_as_written(
    own_moto_dynamodb: DynamoDBClient,
) -> None:
    # Given a table and an item holding every attribute form, binary ones included
    table = f"speedups-{uuid.uuid4().hex[:8]}"
    await own_moto_dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )
    item: dict[str, Any] = {
        "PK": {"S": "item"},
        "text": {"S": "ünïcode ✓"},
        "empty": {"S": ""},
        "count": {"N": "-3.5"},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "tags": {"SS": ["a", "b"]},
        "sizes": {"NS": ["1", "2"]},
        "blob": {"B": b"\x00\x01\x02"},
        "blobs": {"BS": [b"\x03"]},
        "nested": {"M": {"list": {"L": [{"N": "1"}, {"M": {"deep": {"BOOL": True}}}]}}},
    }
    await own_moto_dynamodb.put_item(TableName=table, Item=item)
    # When it is read by GetItem and by Query
    got = (await own_moto_dynamodb.get_item(TableName=table, Key={"PK": {"S": "item"}}))["Item"]
    queried = await own_moto_dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "item"}},
    )
    # Then both return it exactly as written
    assert got == item
    assert queried["Items"] == [item]


async def test_an_item_over_the_size_limit_is_refused_and_one_under_it_stored(
    own_moto_dynamodb: DynamoDBClient,
) -> None:
    # Given a table
    table = f"sizes-{uuid.uuid4().hex[:8]}"
    await own_moto_dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )
    # When an item of ~390 KB in several attributes is put, and then one of ~410 KB
    under = {"PK": {"S": "under"}} | {f"a{n}": {"S": "x" * 130_000} for n in range(3)}
    over = {"PK": {"S": "over"}} | {f"a{n}": {"S": "x" * 130_000} for n in range(3)}
    over["a3"] = {"S": "x" * 20_000}
    await own_moto_dynamodb.put_item(TableName=table, Item=under)
    # Then the first is stored and the second refused, as moto refuses it without the shortcut
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        await own_moto_dynamodb.put_item(TableName=table, Item=over)
    got = await own_moto_dynamodb.get_item(TableName=table, Key={"PK": {"S": "under"}})
    assert got["Item"] == under


def list_tables(connection: http.client.HTTPConnection, **headers: str) -> http.client.HTTPResponse:
    connection.request(
        "POST",
        "/",
        body=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/"
            "aws4_request, SignedHeaders=host, Signature=0",
            **headers,
        },
    )
    response = connection.getresponse()
    response.read()
    return response


def test_requests_share_one_connection_until_the_client_closes_it(own_moto: Backend) -> None:
    # Given one HTTP/1.1 connection to the emulator
    host, port = own_moto.endpoint_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        # When three requests are sent on it
        answers, sockets = [], []
        for _ in range(3):
            answers.append(list_tables(connection))
            sockets.append(connection.sock)
        # Then each is answered on the same, still open, connection
        assert [a.status for a in answers] == [200, 200, 200]
        assert all(a.getheader("Connection") is None and not a.will_close for a in answers)
        assert sockets[0] is not None
        assert sockets == [sockets[0]] * 3
        # And a request that asks to close is answered, then the connection ends
        last = list_tables(connection, Connection="close")
        assert (last.status, last.getheader("Connection")) == (200, "close")
        assert last.will_close
    finally:
        connection.close()
