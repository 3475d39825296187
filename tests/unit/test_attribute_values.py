"""DynamoDB responses parse to exactly what botocore's own parser gives, items taken as sent."""

from __future__ import annotations

import json
import random
from typing import Any

import botocore.session
import pytest
from aiobotocore.parsers import AioJSONParser

from libs.attribute_values import AttributeValuesAsSent, ResponseParsers, as_sent
from libs.aws_clients import container_session
from tests.attribute_value_samples import random_value


async def parsed(parser: Any, service: str, operation: str, body: dict[str, Any]) -> Any:
    """``body`` as ``parser`` parses a 200 answer to ``operation`` of ``service``."""
    model = botocore.session.get_session().get_service_model(service)
    response = {"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}
    result = await parser.parse(response, model.operation_model(operation).output_shape)
    result.pop("ResponseMetadata", None)
    return result


@pytest.mark.parametrize("seed", range(40))
async def test_a_query_page_parses_as_botocore_parses_it(seed: int) -> None:
    # Given a Query answer whose items hold every attribute form, nested
    chance = random.Random(seed)
    items = [
        {f"a{n}": random_value(chance, unknown=True) for n in range(chance.randint(0, 6))}
        for _ in range(chance.randint(0, 5))
    ]
    body = {
        "Items": items,
        "Count": len(items),
        "ScannedCount": len(items),
        "LastEvaluatedKey": {"PK": {"S": "k"}, "SK": {"N": "1"}},
    }
    # When our parser and botocore's parse it
    ours = await parsed(AttributeValuesAsSent(), "dynamodb", "Query", body)
    theirs = await parsed(AioJSONParser(), "dynamodb", "Query", body)
    # Then the results are equal: binary values decoded, unknown members marked, the rest as sent
    assert ours == theirs


async def test_an_item_and_a_stream_record_parse_as_botocore_parses_them() -> None:
    # Given a GetItem answer and a stream record, each with a binary attribute beside plain ones
    item = {"PK": {"S": "p"}, "blob": {"B": "AAEC"}, "tags": {"SS": ["a"]}, "n": {"N": "2"}}
    records = {
        "Records": [
            {
                "eventName": "INSERT",
                "dynamodb": {"Keys": {"PK": {"S": "p"}}, "NewImage": item, "SizeBytes": 20},
            }
        ]
    }
    # Then both parse as botocore parses them, bytes where the wire had base64
    for service, operation, body in (
        ("dynamodb", "GetItem", {"Item": item}),
        ("dynamodbstreams", "GetRecords", records),
    ):
        ours = await parsed(AttributeValuesAsSent(), service, operation, body)
        assert ours == await parsed(AioJSONParser(), service, operation, body)
    got = await parsed(AttributeValuesAsSent(), "dynamodb", "GetItem", {"Item": item})
    assert got["Item"]["blob"] == {"B": b"\x00\x01\x02"}


def test_only_values_whose_parsed_form_is_their_json_are_taken_as_sent() -> None:
    assert as_sent({"M": {"a": {"L": [{"N": "1"}, {"NULL": True}]}}}) is not None
    assert as_sent({"B": "AAEC"}) is None
    assert as_sent({"L": [{"S": "a"}, {"BS": ["AAEC"]}]}) is None
    assert as_sent({"S": "a", "N": "1"}) is None
    assert as_sent({"N": 1}) is None
    assert as_sent({"X": "?"}) is None


def test_the_container_session_builds_its_clients_with_this_parser() -> None:
    # Given the container's session
    factory = container_session().get_component("response_parser_factory")
    # Then JSON-protocol services get the parser that takes items as sent, others aiobotocore's
    assert isinstance(factory, ResponseParsers)
    assert type(factory.create_parser("json")) is AttributeValuesAsSent
    assert type(factory.create_parser("query")) is not AttributeValuesAsSent
