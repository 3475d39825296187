"""Request decoding: each kind of bad input gets its own problem, naming the field."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from libs.json_api import decode_body, decode_query
from libs.problems import MalformedJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from services.orders.models import OrderQuery, PlaceOrder


def event(
    body: str | None, *, content_type: str = "application/json", **extra: Any
) -> APIGatewayProxyEventV2:
    raw: dict[str, Any] = {
        "headers": {"content-type": content_type},
        "body": body,
        "isBase64Encoded": False,
    }
    raw.update(extra)
    return APIGatewayProxyEventV2(raw)


def test_a_valid_body_decodes_to_its_struct() -> None:
    order = decode_body(event('{"items":[{"productId":"p","quantity":2}]}'), PlaceOrder)
    assert order.items[0].product_id == "p"
    assert order.items[0].quantity == 2


def test_malformed_json_is_a_400() -> None:
    with pytest.raises(MalformedJson):
        decode_body(event('{"items": ['), PlaceOrder)


def test_an_empty_body_is_a_400() -> None:
    with pytest.raises(MalformedJson):
        decode_body(event(None), PlaceOrder)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"items":[{"productId":"p","quantity":"2"}]}', "items[0].quantity"),
        ('{"items":[{"productId":"p","quantity":-1}]}', "items[0].quantity"),
        ('{"items":[{"productId":"p","quantity":101}]}', "items[0].quantity"),
        ('{"items":[]}', "items"),
        ("{}", "items"),
        ('{"items":[{"productId":"p","quantity":1}],"discount":5}', "discount"),
        ('{"items":[{"productId":"p","quantity":1,"price":1}]}', "items[0].price"),
        ("[1]", "body"),
    ],
)
def test_a_schema_violation_is_a_422_naming_the_field(body: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_body(event(body), PlaceOrder)
    assert raised.value.invalid_params is not None
    assert raised.value.invalid_params[0].name == field


def test_a_body_over_the_limit_is_a_413() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body(event('{"items":"' + "x" * 70_000 + '"}'), PlaceOrder)


def test_a_non_json_content_type_is_a_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        decode_body(event("items=1", content_type="application/x-www-form-urlencoded"), PlaceOrder)


def test_invalid_utf8_is_a_400() -> None:
    raw = base64.b64encode(b'{"items": "\xff\xfe"}').decode()
    with pytest.raises(MalformedJson):
        decode_body(event(raw, isBase64Encoded=True), PlaceOrder)


def test_query_strings_are_converted_and_bounded() -> None:
    assert decode_query(event(None, queryStringParameters={"limit": "5"}), OrderQuery).limit == 5
    with pytest.raises(ValidationFailed) as raised:
        decode_query(event(None, queryStringParameters={"limit": "0"}), OrderQuery)
    assert raised.value.invalid_params is not None
    assert raised.value.invalid_params[0].name == "limit"


@pytest.mark.parametrize(("number", "quantity"), [("2.0", 2), ("2e0", 2), ("0.2e1", 2)])
def test_a_whole_number_written_with_a_fraction_is_an_integer(number: str, quantity: int) -> None:
    # Given an integer field sent as a number JSON Schema counts as an integer
    body = f'{{"items":[{{"productId":"p","quantity":{number}}}]}}'
    # When the body is decoded, Then the field holds the integer
    assert decode_body(event(body), PlaceOrder).items[0].quantity == quantity


@pytest.mark.parametrize("number", ["2.5", "1e999", "true", '"2"', "1.01e2"])
def test_a_number_that_is_no_whole_number_in_range_is_still_refused(number: str) -> None:
    # Given an integer field sent as a fraction, an overflow, another type or out of range
    body = f'{{"items":[{{"productId":"p","quantity":{number}}}]}}'
    # When it is decoded, Then it is a 422 naming the field
    with pytest.raises(ValidationFailed) as raised:
        decode_body(event(body), PlaceOrder)
    assert raised.value.invalid_params is not None
    assert raised.value.invalid_params[0].name == "items[0].quantity"


@pytest.mark.parametrize("query", [{"cursor": ""}, {}])
def test_an_empty_cursor_is_the_first_page(query: dict[str, str]) -> None:
    assert decode_query(event(None, queryStringParameters=query), OrderQuery).cursor is None


def test_a_cursor_outside_the_cursor_alphabet_is_a_422_naming_it() -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_query(event(None, queryStringParameters={"cursor": "a b"}), OrderQuery)
    assert raised.value.invalid_params is not None
    assert raised.value.invalid_params[0].name == "cursor"
