"""Orders, conventionally: POST /orders, GET /orders/{orderId}, GET /orders (boto3 + pydantic)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

logger = Logger(service="orders")
metrics = Metrics(namespace="ServerlessBlueprint/Orders", service="orders")
tracer = Tracer(service="orders")
app = APIGatewayHttpResolver()

# Module scope, as the cookbook does: created during init, reused by warm invocations.
dynamodb = boto3.client(
    "dynamodb",
    config=Config(
        connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
    ),
)
TABLE = os.environ["TABLE_NAME"]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
PROBLEM = "application/problem+json"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
OUTBOX_TTL_SECONDS = 24 * 3600


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class LineRequest(Model):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=100)]


class ShippingAddress(Model):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    line2: Annotated[str, Field(max_length=200)] | None = None


class PlaceOrder(Model):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    items: Annotated[list[LineRequest], Field(min_length=1, max_length=50)]
    shipping_address: ShippingAddress | None = None


class OrderLine(Model):
    product_id: str
    name: str
    quantity: int
    unit_price: int


class Order(Model):
    order_id: str
    user_id: str
    status: Literal["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"]
    items: list[OrderLine]
    total: int
    currency: str
    created_at: str
    updated_at: str
    version: int
    shipping_address: ShippingAddress | None = None


class OrderPage(Model):
    items: list[Order]
    next_cursor: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(status: int, slug: str, title: str, detail: str) -> Response[str]:
    body: dict[str, str | int] = {
        "type": f"https://errors.serverless-blueprint.dev/{slug}",
        "title": title,
    }
    body |= {"status": status, "detail": detail, "instance": app.current_event.raw_path}
    return Response(status_code=status, content_type=PROBLEM, body=json.dumps(body))


def _user_id() -> str:
    return str(app.current_event.request_context.authorizer.jwt_claim["sub"])


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@tracer.capture_method
def _get_order(order_id: str) -> Order | None:
    key = {"PK": {"S": f"ORDER#{order_id}"}, "SK": {"S": "DETAILS"}}
    item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    return Order.model_validate(_from_item(item)) if item else None


@app.post("/orders")
@tracer.capture_method
def place_order() -> Response[str]:
    user_id = _user_id()
    try:
        request = PlaceOrder.model_validate_json(app.current_event.body or "")
    except ValidationError as error:
        return _problem(422, "validation-failed", "Validation failed", str(error))
    key = app.current_event.headers.get("idempotency-key")
    fingerprint = hashlib.sha256(request.model_dump_json(by_alias=True).encode()).hexdigest()
    record_key = {"PK": {"S": f"IDEMPOTENCY#{user_id}#{key}"}, "SK": {"S": "RECORD"}}
    if key is not None:
        record = dynamodb.get_item(TableName=TABLE, Key=record_key, ConsistentRead=True)
        if "Item" in record:
            replayed = _get_order(record["Item"]["orderId"]["S"])
            assert replayed is not None
            return Response(
                status_code=201,
                content_type="application/json",
                body=replayed.model_dump_json(by_alias=True),
                headers={"Location": f"/orders/{replayed.order_id}", "Idempotent-Replayed": "true"},
            )
    ids = {line.product_id for line in request.items}
    keys = [{"PK": {"S": f"PRODUCT#{i}"}, "SK": {"S": "INFO"}} for i in ids]
    found = dynamodb.batch_get_item(
        RequestItems={
            TABLE: {
                "Keys": keys,
                "ProjectionExpression": "productId, #name, price, currency",
                "ExpressionAttributeNames": {"#name": "name"},
            }
        }
    )
    prices = {p["productId"]: p for p in map(_from_item, found["Responses"][TABLE])}
    missing = [line.product_id for line in request.items if line.product_id not in prices]
    if missing:
        return _problem(422, "validation-failed", "Validation failed", f"No such product {missing}")
    now = _now()
    lines = [
        OrderLine(
            product_id=line.product_id,
            name=prices[line.product_id]["name"],
            quantity=line.quantity,
            unit_price=int(prices[line.product_id]["price"]),
        )
        for line in request.items
    ]
    order = Order(
        order_id=str(uuid.uuid4()),
        user_id=user_id,
        status="PENDING",
        items=lines,
        total=sum(line.unit_price * line.quantity for line in lines),
        currency=next(iter(prices.values()))["currency"],
        shipping_address=request.shipping_address,
        created_at=now,
        updated_at=now,
        version=1,
    )
    condition = {
        "ConditionExpression": "attribute_not_exists(#pk)",
        "ExpressionAttributeNames": {"#pk": "PK"},
    }
    stored = order.model_dump(by_alias=True, exclude_none=True)
    order_item = _to_item(
        {
            "PK": f"ORDER#{order.order_id}",
            "SK": "DETAILS",
            "GSI1PK": f"USER#{user_id}",
            "GSI1SK": f"ORDER#{now}#{order.order_id}",
            "entity": "Order",
            **stored,
        }
    )
    writes: list[Any] = [{"Put": {"TableName": TABLE, "Item": order_item, **condition}}]
    if key is not None:
        record_item = _to_item(
            {"orderId": order.order_id, "requestHash": fingerprint, "createdAt": now}
        )
        record_item |= record_key | {"entity": {"S": "IdempotencyRecord"}}
        record_item["expiresAt"] = {"N": str(int(time.time()) + IDEMPOTENCY_TTL_SECONDS)}
        writes.append({"Put": {"TableName": TABLE, "Item": record_item, **condition}})
    event_id = str(uuid.uuid4())
    detail = {
        "eventId": event_id,
        "schemaVersion": 1,
        "occurredAt": now,
        "correlationId": app.current_event.request_context.request_id,
        "orderId": order.order_id,
        "userId": user_id,
        "total": order.total,
        "currency": order.currency,
        "items": [
            {"productId": li.product_id, "quantity": li.quantity, "unitPrice": li.unit_price}
            for li in lines
        ],
    }
    outbox = {
        "PK": {"S": f"OUTBOX#{event_id}"},
        "SK": {"S": "EVENT"},
        "entity": {"S": "OutboxEvent"},
        "eventId": {"S": event_id},
        "source": {"S": "serverless-blueprint.orders"},
        "detailType": {"S": "OrderCreated"},
        "detail": {"S": json.dumps(detail, separators=(",", ":"))},
        "occurredAt": {"S": now},
        "expiresAt": {"N": str(int(time.time()) + OUTBOX_TTL_SECONDS)},
    }
    writes.append({"Put": {"TableName": TABLE, "Item": outbox, **condition}})
    try:
        dynamodb.transact_write_items(TransactItems=writes)
    except dynamodb.exceptions.TransactionCanceledException:
        # The key's record exists: a concurrent request (or an SDK retry of this one) won.
        record = dynamodb.get_item(TableName=TABLE, Key=record_key, ConsistentRead=True)
        if key is None or "Item" not in record:
            raise
        replayed = _get_order(record["Item"]["orderId"]["S"])
        assert replayed is not None
        return Response(
            status_code=201,
            content_type="application/json",
            body=replayed.model_dump_json(by_alias=True),
            headers={"Location": f"/orders/{replayed.order_id}", "Idempotent-Replayed": "true"},
        )
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type="application/json",
        body=order.model_dump_json(by_alias=True),
        headers={"Location": f"/orders/{order.order_id}"},
    )


@app.get("/orders/<order_id>")
@tracer.capture_method
def get_order(order_id: str) -> Response[str]:
    order = _get_order(order_id)
    if order is None or order.user_id != _user_id():
        return _problem(404, "not-found", "Not found", f"No order {order_id}")
    return Response(
        status_code=200, content_type="application/json", body=order.model_dump_json(by_alias=True)
    )


@app.get("/orders")
@tracer.capture_method
def list_orders() -> Response[str]:
    limit = int(app.current_event.get_query_string_value("limit", "20") or 20)
    request: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": "GSI1",
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
        "ExpressionAttributeNames": {"#pk": "GSI1PK", "#sk": "GSI1SK"},
        "ExpressionAttributeValues": {":pk": {"S": f"USER#{_user_id()}"}, ":sk": {"S": "ORDER#"}},
        "Limit": limit + 1,
        "ScanIndexForward": False,
    }
    cursor = app.current_event.get_query_string_value("cursor")
    if cursor:
        request["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(cursor + "==="))
    items = dynamodb.query(**request).get("Items", [])
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        start = {n: last[n] for n in ("PK", "SK", "GSI1PK", "GSI1SK")}
        raw = json.dumps(start, separators=(",", ":")).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    page = OrderPage(
        items=[Order.model_validate(_from_item(i)) for i in items[:limit]], next_cursor=next_cursor
    )
    return Response(
        status_code=200, content_type="application/json", body=page.model_dump_json(by_alias=True)
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    response = app.resolve(event, context)
    response.setdefault("headers", {})["x-correlation-id"] = logger.get_correlation_id() or ""
    logger.info(
        "request handled",
        extra={
            "route": event.get("routeKey"),
            "status": response.get("statusCode"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
