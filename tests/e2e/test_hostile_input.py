"""Hostile input over HTTP through the local gateway: every case is a clear 4xx, none writes.

Each table row is one request. What the functions refuse is application/problem+json with a
stable ``type`` and a detail (or ``invalidParams``) naming the field or the limit; what the
gateway refuses before any function runs keeps API Gateway's ``{"message": ...}`` body. After
each refusal the test reads the table: no order, idempotency record, product or profile exists.

Duplicate member names are refused (400 ``malformed-json``): decoders disagree on which value
wins, so a body that names a member twice is never acted upon.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from emulator.gateway import MAX_EVENT_BYTES, MAX_PAYLOAD_BYTES, MAX_REQUEST_HEAD_BYTES
from libs.config import DEFAULT_MAX_BODY_BYTES
from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from libs.resources.user_pool import ADMIN_GROUP
from libs.table_keys import as_key, idempotency_key, product_key, profile_key, user_partition
from tests.accounts import SignedInUser, UserFactory, account_email

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
DEEP = 10_000  # levels of nesting; far beyond any schema, well within the body limit


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    api_url: str,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with ``target`` sent byte for byte (no client normalises ``..`` or ``%2F``)."""
    address = urlsplit(api_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.getheader("content-type", ""), response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class Refusal:
    """What a refusal must look like: a function's problem, or the gateway's own message."""

    status: int
    slug: str | None = None  # the problem `type`; None: the gateway answered
    names: str | None = None  # in the detail, or an invalidParams name (the field or limit)
    message: str | None = None  # the gateway's {"message": ...}


def assert_refused(answer: Answer, expected: Refusal) -> None:
    assert answer.status == expected.status, answer.body[:500]
    if expected.slug is None:
        assert answer.content_type == "application/json"
        assert answer.json() == {"message": expected.message}
        return
    assert answer.content_type == PROBLEM_CONTENT_TYPE
    problem = answer.json()
    assert problem["type"] == TYPE_BASE + expected.slug
    assert problem["status"] == expected.status
    if expected.names is not None:
        named = [param["name"] for param in problem.get("invalidParams", [])]
        assert expected.names in named or expected.names in problem["detail"], problem


# -- the people and what they may have written ------------------------------------------------


@pytest.fixture(scope="module")
async def mallory(make_user: UserFactory) -> SignedInUser:
    """The one customer who sends every hostile request; she must end up with nothing."""
    return await make_user()


@pytest.fixture(scope="module")
async def admin_mallory(make_user: UserFactory) -> SignedInUser:
    """An admin sending hostile catalog writes."""
    return await make_user(ADMIN_GROUP)


async def orders_of(db: DynamoDBClient, table: str, user: SignedInUser) -> list[Any]:
    response = await db.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :user",
        ExpressionAttributeValues={":user": {"S": user_partition(user.user_id)}},
    )
    return response["Items"]


async def item(db: DynamoDBClient, table: str, key: dict[str, str]) -> Any:
    return (await db.get_item(TableName=table, Key=as_key(key), ConsistentRead=True)).get("Item")


async def products_named(db: DynamoDBClient, table: str, name: str) -> list[Any]:
    response = await db.scan(
        TableName=table,
        FilterExpression="begins_with(PK, :product) AND #name = :name",
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues={":product": {"S": "PRODUCT#"}, ":name": {"S": name}},
    )
    return response["Items"]


# -- bodies of a write: POST /orders ----------------------------------------------------------

LINE = '{"productId":"usb-c-hub","quantity":%s}'


def order(quantity: str = "1") -> bytes:
    return ('{"items":[' + LINE % quantity + "]}").encode()


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


ORDER_BODIES = [
    # (content type, body, refusal)
    pytest.param(
        JSON,
        b" " * (DEFAULT_MAX_BODY_BYTES + 1),
        Refusal(413, "payload-too-large", names=str(DEFAULT_MAX_BODY_BYTES)),
        id="over-the-function-limit",
    ),
    pytest.param(
        JSON,
        b" " * (MAX_EVENT_BYTES + 1),
        Refusal(413, message="Request Too Long"),
        id="over-lambdas-6-mb-invoke-limit",
    ),
    pytest.param(
        JSON,
        b" " * (MAX_PAYLOAD_BYTES + 1),
        Refusal(413, message="Request Entity Too Large"),
        id="over-api-gateways-10-mb-limit",
    ),
    pytest.param(JSON, b"", Refusal(400, "malformed-json", names="JSON body"), id="empty"),
    pytest.param(JSON, b" \n\t ", Refusal(400, "malformed-json", names="JSON body"), id="blank"),
    pytest.param(JSON, b'{"items":[', Refusal(400, "malformed-json"), id="truncated"),
    pytest.param(JSON, b"[]", Refusal(422, "validation-failed", names="body"), id="an-array"),
    pytest.param(JSON, b'"items"', Refusal(422, "validation-failed", names="body"), id="a-string"),
    pytest.param(JSON, b"null", Refusal(422, "validation-failed", names="body"), id="null"),
    pytest.param(JSON, b"42", Refusal(422, "validation-failed", names="body"), id="a-number"),
    pytest.param(
        JSON,
        nested(DEEP).encode(),
        Refusal(422, "validation-failed", names="body"),
        id="deeply-nested-body",
    ),
    pytest.param(
        JSON,
        order(nested(DEEP)),
        Refusal(422, "validation-failed", names="items[0].quantity"),
        id="deeply-nested-field",
    ),
    pytest.param(
        JSON,
        b'{"items":[{"productId":"\xff\xfe","quantity":1}]}',
        Refusal(400, "malformed-json", names="not UTF-8"),
        id="invalid-utf-8",
    ),
    pytest.param(
        JSON,
        b'{"items":[{"productId":"\\ud800","quantity":1}]}',
        Refusal(400, "malformed-json"),
        id="lone-surrogate-escape",
    ),
    pytest.param(
        JSON,
        order("1e400"),
        Refusal(422, "validation-failed", names="items[0].quantity"),
        id="quantity-1e400",
    ),
    pytest.param(
        JSON,
        order(str(10**40)),
        Refusal(422, "validation-failed", names="items[0].quantity"),
        id="quantity-10-to-the-40",
    ),
    pytest.param(
        JSON,
        order("-" + str(10**40)),
        Refusal(422, "validation-failed", names="items[0].quantity"),
        id="quantity-minus-10-to-the-40",
    ),
    pytest.param(
        JSON,
        order("1.5"),
        Refusal(422, "validation-failed", names="items[0].quantity"),
        id="quantity-a-fraction",
    ),
    pytest.param(JSON, order("NaN"), Refusal(400, "malformed-json"), id="quantity-nan"),
    pytest.param(
        JSON,
        b'{"items":[' + LINE.encode() % b"1" + b'],"items":[' + LINE.encode() % b"99" + b"]}",
        Refusal(400, "malformed-json", names="`items`"),
        id="duplicate-member",
    ),
    pytest.param(
        JSON,
        b'{"items":[{"productId":"usb-c-hub","quantity":1,"quantity":99}]}',
        Refusal(400, "malformed-json", names="`quantity`"),
        id="duplicate-nested-member",
    ),
    pytest.param(
        {"Content-Type": "text/plain"},
        order(),
        Refusal(415, "unsupported-media-type", names="text/plain"),
        id="text-plain",
    ),
    pytest.param(
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"items=usb-c-hub",
        Refusal(415, "unsupported-media-type", names="application/x-www-form-urlencoded"),
        id="form-post",
    ),
    pytest.param(
        {"Content-Type": "application/xml"},
        b"<items/>",
        Refusal(415, "unsupported-media-type", names="application/xml"),
        id="xml",
    ),
]


@pytest.mark.parametrize(("content_type", "body", "refusal"), ORDER_BODIES)
async def test_a_hostile_order_body_is_refused_and_writes_nothing(
    api_url: str,
    mallory: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    content_type: dict[str, str],
    body: bytes,
    refusal: Refusal,
) -> None:
    # Given mallory, who has never placed an order
    key = f"hostile-{uuid.uuid4().hex}"
    headers = mallory.headers | content_type | {"Idempotency-Key": key}
    # When she posts the hostile body
    answer = await asyncio.to_thread(send, api_url, "POST", "/orders", body, headers)
    # Then it is refused clearly
    assert_refused(answer, refusal)
    # And nothing was written: no order, no idempotency record
    assert await orders_of(dynamodb, table_name, mallory) == []
    assert await item(dynamodb, table_name, idempotency_key(mallory.user_id, key)) is None


# -- other writes: the catalog and the profile --------------------------------------------------

PRODUCT = '{"name":"%s","category":"books","price":%s,"currency":"EUR"}'

PRODUCT_BODIES = [
    # (price, the rest of the body after the price, refusal)
    pytest.param(str(10**40), "", Refusal(422, "validation-failed", names="price"), id="10**40"),
    pytest.param("1e400", "", Refusal(422, "validation-failed", names="price"), id="1e400"),
    pytest.param("-1", "", Refusal(422, "validation-failed", names="price"), id="negative"),
    pytest.param("0.1", "", Refusal(422, "validation-failed", names="price"), id="a-fraction"),
    pytest.param(
        "100", ',"price":1', Refusal(400, "malformed-json", names="`price`"), id="duplicate"
    ),
]


@pytest.mark.parametrize(("price", "rest", "refusal"), PRODUCT_BODIES)
async def test_a_hostile_price_is_refused_and_creates_no_product(
    api_url: str,
    admin_mallory: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    price: str,
    rest: str,
    refusal: Refusal,
) -> None:
    # Given a product body with a name no product has
    name = f"hostile-{uuid.uuid4().hex}"
    body = (PRODUCT % (name, price))[:-1] + rest + "}"
    # When an admin posts it
    headers = admin_mallory.headers | JSON
    answer = await asyncio.to_thread(send, api_url, "POST", "/products", body.encode(), headers)
    # Then it is refused, and no product of that name exists
    assert_refused(answer, refusal)
    assert await products_named(dynamodb, table_name, name) == []


PROFILE_BODIES = [
    pytest.param(
        b'{"version":' + str(10**40).encode() + b"}",
        Refusal(422, "validation-failed", names="version"),
        id="version-10**40",
    ),
    pytest.param(
        b'{"version":1e400}', Refusal(422, "validation-failed", names="version"), id="version-1e400"
    ),
    pytest.param(
        b'{"version":0,"name":"Mallory","name":"Alice"}',
        Refusal(400, "malformed-json", names="`name`"),
        id="duplicate-name",
    ),
    pytest.param(
        b'{"version":0,"phone":"' + b"1" * 70_000 + b'"}',
        Refusal(413, "payload-too-large", names=str(DEFAULT_MAX_BODY_BYTES)),
        id="oversized",
    ),
    pytest.param(
        b'{"version":0,"address":' + nested(DEEP).encode() + b"}",
        Refusal(422, "validation-failed", names="address"),
        id="deeply-nested-address",
    ),
]


@pytest.mark.parametrize(("body", "refusal"), PROFILE_BODIES)
async def test_a_hostile_profile_update_is_refused_and_writes_no_profile(
    api_url: str,
    mallory: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    body: bytes,
    refusal: Refusal,
) -> None:
    headers = mallory.headers | JSON
    answer = await asyncio.to_thread(send, api_url, "PUT", "/users/me", body, headers)
    assert_refused(answer, refusal)
    assert await item(dynamodb, table_name, profile_key(mallory.user_id)) is None


async def test_a_control_character_in_an_email_is_a_422_naming_it(api_url: str) -> None:
    # Cognito would refuse such a username: the function names the field instead of failing.
    body = {"email": account_email("a\u0000"), "password": "P", "name": "M"}
    answer = await asyncio.to_thread(
        send, api_url, "POST", "/auth/register", json.dumps(body).encode(), JSON
    )
    assert_refused(answer, Refusal(422, "validation-failed", names="email"))


# -- path parameters ---------------------------------------------------------------------------

LONG_ID = "a" * 3000  # over DynamoDB's 2048-byte partition key
PATHS = [
    # (method, raw request target, refusal)
    pytest.param(
        "GET", "/products/..%2F..%2Forders", Refusal(404, "not-found"), id="encoded-slash"
    ),
    pytest.param("GET", "/products/%2e%2e%2f%2e%2e", Refusal(404, "not-found"), id="encoded-dots"),
    pytest.param("GET", "/products/..%5c..%5corders", Refusal(404, "not-found"), id="backslash"),
    pytest.param("GET", "/products/a%00b", Refusal(404, "not-found"), id="nul"),
    pytest.param("GET", "/products/a%0d%0aX-Injected:%201", Refusal(404, "not-found"), id="crlf"),
    pytest.param("GET", "/products/%c0%ae%c0%ae", Refusal(404, "not-found"), id="overlong-utf-8"),
    pytest.param("GET", "/products/" + LONG_ID, Refusal(404, "not-found"), id="3000-characters"),
    # A raw dot segment leaves the declared route: the gateway's own 404, no function runs.
    pytest.param(
        "GET", "/products/../orders", Refusal(404, message="Not Found"), id="dot-segments"
    ),
    pytest.param("GET", "/orders/..%2F..%2Fusers%2Fme", Refusal(404, "not-found"), id="order"),
    pytest.param("GET", "/orders/%00", Refusal(404, "not-found"), id="order-nul"),
    pytest.param("GET", "/orders/" + LONG_ID, Refusal(404, "not-found"), id="order-long"),
]


@pytest.mark.parametrize(("method", "target", "refusal"), PATHS)
async def test_a_hostile_path_parameter_is_a_404(
    api_url: str, mallory: SignedInUser, method: str, target: str, refusal: Refusal
) -> None:
    answer = await asyncio.to_thread(send, api_url, method, target, None, mallory.headers)
    assert_refused(answer, refusal)


WRITE_PATHS = [
    # (product id as sent, as it would have been stored had it been decoded)
    pytest.param("..%2F..%2Fx", "../../x", id="encoded-slash"),
    pytest.param("a%00b", "a\x00b", id="nul"),
    pytest.param(LONG_ID, LONG_ID, id="3000-characters"),
]


@pytest.mark.parametrize(("sent", "decoded"), WRITE_PATHS)
async def test_a_hostile_product_id_in_a_write_is_a_404_and_stores_nothing(
    api_url: str,
    admin_mallory: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    sent: str,
    decoded: str,
) -> None:
    body = (PRODUCT % ("Hostile", "100")).encode()
    headers = admin_mallory.headers | JSON
    answer = await asyncio.to_thread(send, api_url, "PUT", f"/products/{sent}", body, headers)
    assert_refused(answer, Refusal(404, "not-found"))
    for product_id in {sent, decoded}:
        if len(product_id) < 1024:  # a longer key cannot even be asked for
            assert await item(dynamodb, table_name, product_key(product_id)) is None


async def test_a_hostile_order_id_in_a_write_is_a_404(
    api_url: str, mallory: SignedInUser, dynamodb: DynamoDBClient, table_name: str
) -> None:
    body = b'{"status":"CANCELLED","version":' + str(10**40).encode() + b"}"
    headers = mallory.headers | JSON
    target = "/orders/..%2F..%2Fx"
    answer = await asyncio.to_thread(send, api_url, "PATCH", target, body, headers)
    assert_refused(answer, Refusal(404, "not-found"))
    assert await orders_of(dynamodb, table_name, mallory) == []


# -- query strings and headers -----------------------------------------------------------------

QUERIES = [
    pytest.param("/products?limit=1e400", Refusal(422, "validation-failed", names="limit")),
    pytest.param(f"/products?limit={10**40}", Refusal(422, "validation-failed", names="limit")),
    pytest.param("/products?limit=-1", Refusal(422, "validation-failed", names="limit")),
    pytest.param("/products?category=%00", Refusal(422, "validation-failed", names="category")),
    pytest.param("/products?category=..%2F..", Refusal(422, "validation-failed", names="category")),
    # A cursor outside the cursors' alphabet breaks the documented pattern; one inside it that
    # this API never issued is a 400.
    pytest.param("/products?cursor=%ff%fe", Refusal(422, "validation-failed", names="cursor")),
    pytest.param("/products?cursor=" + "A" * 5000, Refusal(400, "bad-request", names="cursor")),
    pytest.param("/orders?cursor=..%2F..", Refusal(422, "validation-failed", names="cursor")),
    pytest.param("/orders?unknown=1", Refusal(422, "validation-failed", names="unknown")),
]


@pytest.mark.parametrize(("target", "refusal"), QUERIES)
async def test_a_hostile_query_string_is_refused(
    api_url: str, mallory: SignedInUser, target: str, refusal: Refusal
) -> None:
    answer = await asyncio.to_thread(send, api_url, "GET", target, None, mallory.headers)
    assert_refused(answer, refusal)


HEADERS = [
    pytest.param(
        {"X-Padding": "p" * MAX_REQUEST_HEAD_BYTES},
        Refusal(431, message="Request Header Fields Too Large"),
        id="one-header-over-the-quota",
    ),
    pytest.param(
        {f"X-Padding-{n}": "p" * 1000 for n in range(11)},
        Refusal(431, message="Request Header Fields Too Large"),
        id="many-headers-over-the-quota",
    ),
    pytest.param(
        {"Idempotency-Key": "k" * 256},
        Refusal(422, "validation-failed", names="header.Idempotency-Key"),
        id="idempotency-key-too-long",
    ),
]


@pytest.mark.parametrize(("extra", "refusal"), HEADERS)
async def test_hostile_headers_are_refused_and_write_nothing(
    api_url: str,
    mallory: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
    extra: dict[str, str],
    refusal: Refusal,
) -> None:
    headers = mallory.headers | JSON | extra
    answer = await asyncio.to_thread(send, api_url, "POST", "/orders", order(), headers)
    assert_refused(answer, refusal)
    assert await orders_of(dynamodb, table_name, mallory) == []
