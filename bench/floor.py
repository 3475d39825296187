"""The floors: only the SDK calls each endpoint needs, made directly with aiobotocore or boto3.

Ours runs on aiobotocore and the baseline on boto3, whose calls cost different amounts of CPU;
each floor is the same requests with nothing around them (no routing, models, logs), so each
implementation's overhead can be measured above its own SDK as well as above the shared one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

Call = tuple[str, str, dict[str, Any]]  # client ("db" or "cognito"), operation, parameters


class FloorRequests:
    """The AWS calls of each endpoint, as ``(client, operation, parameters)``."""

    def __init__(self, table: str, pool_id: str, reader: str, writer: str, order_id: str) -> None:
        self.table, self.pool_id = table, pool_id
        self.reader, self.writer, self.order_id = reader, writer, order_id

    def get_order(self) -> list[Call]:
        key = {"PK": {"S": f"ORDER#{self.order_id}"}, "SK": {"S": "DETAILS"}}
        return [("db", "get_item", {"TableName": self.table, "Key": key, "ConsistentRead": True})]

    def list_orders(self) -> list[Call]:
        query = {
            "TableName": self.table,
            "IndexName": "GSI1",
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
            "ExpressionAttributeNames": {"#pk": "GSI1PK", "#sk": "GSI1SK"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"USER#{self.reader}"},
                ":sk": {"S": "ORDER#"},
            },
            "Limit": 21,
            "ScanIndexForward": False,
        }
        return [("db", "query", query)]

    def get_me(self) -> list[Call]:
        """Two independent reads (concurrent where the SDK allows it)."""
        key = {"PK": {"S": f"USER#{self.reader}"}, "SK": {"S": "PROFILE"}}
        return [
            ("cognito", "admin_get_user", {"UserPoolId": self.pool_id, "Username": self.reader}),
            ("db", "get_item", {"TableName": self.table, "Key": key, "ConsistentRead": True}),
        ]

    def post_order(self) -> list[Call]:
        order_id, event_id, key = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        record_key = {"PK": {"S": f"IDEMPOTENCY#{self.writer}#{key}"}, "SK": {"S": "RECORD"}}
        products = {
            self.table: {
                "Keys": [
                    {"PK": {"S": f"PRODUCT#{p}"}, "SK": {"S": "INFO"}}
                    for p in ("usb-c-hub", "desk-lamp")
                ],
                "ProjectionExpression": "productId, #name, price, currency",
                "ExpressionAttributeNames": {"#name": "name"},
            }
        }
        condition = {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": "PK"},
        }
        expires = {"N": str(int(time.time()) + 86400)}
        order = {
            "PK": {"S": f"ORDER#{order_id}"},
            "SK": {"S": "DETAILS"},
            "GSI1PK": {"S": f"USER#{self.writer}"},
            "GSI1SK": {"S": f"ORDER#2026-01-01T00:00:00.000Z#{order_id}"},
            "entity": {"S": "Order"},
            "orderId": {"S": order_id},
            "userId": {"S": self.writer},
            "status": {"S": "PENDING"},
            "items": {
                "L": [
                    {"M": {"productId": {"S": "usb-c-hub"}, "quantity": {"N": "2"}}},
                    {"M": {"productId": {"S": "desk-lamp"}, "quantity": {"N": "1"}}},
                ]
            },
            "total": {"N": "12800"},
            "currency": {"S": "EUR"},
        }
        record = {**record_key, "orderId": {"S": order_id}, "expiresAt": expires}
        outbox = {
            "PK": {"S": f"OUTBOX#{event_id}"},
            "SK": {"S": "EVENT"},
            "detail": {"S": f'{{"orderId":"{order_id}"}}'},
            "expiresAt": expires,
        }
        writes = [
            {"Put": {"TableName": self.table, "Item": item, **condition}}
            for item in (order, record, outbox)
        ]
        return [
            (
                "db",
                "get_item",
                {"TableName": self.table, "Key": record_key, "ConsistentRead": True},
            ),
            ("db", "batch_get_item", {"RequestItems": products}),
            ("db", "transact_write_items", {"TransactItems": writes}),
        ]


class RawCalls:
    """The endpoints' AWS round trips on aiobotocore: the floor under ours."""

    def __init__(self, table: str, pool_id: str, reader: str, writer: str, order_id: str) -> None:
        self.requests = FloorRequests(table, pool_id, reader, writer, order_id)
        self._stack = AsyncExitStack()
        self.clients: dict[str, Any] = {}

    async def open(self) -> None:
        from aiobotocore.session import get_session

        from libs.aws_clients import CLIENT_CONFIG

        session: Any = get_session()  # one loop over services: the typed overloads want literals
        for name, service in (("db", "dynamodb"), ("cognito", "cognito-idp")):
            self.clients[name] = await self._stack.enter_async_context(
                session.create_client(service, config=CLIENT_CONFIG)
            )

    async def close(self) -> None:
        await self._stack.aclose()

    async def call(self, endpoint: str) -> None:
        """The endpoint's calls: GET /users/me's two at once, the others one after the other."""
        calls = getattr(self.requests, endpoint)()
        if endpoint == "get_me":
            await asyncio.gather(*(self._call(*call) for call in calls))
        else:
            for call in calls:
                await self._call(*call)

    async def _call(self, client: str, operation: str, parameters: dict[str, Any]) -> Any:
        return await getattr(self.clients[client], operation)(**parameters)


class RawBoto3Calls:
    """The same round trips on boto3, one after the other: the floor under the baseline."""

    def __init__(self, table: str, pool_id: str, reader: str, writer: str, order_id: str) -> None:
        import boto3
        from botocore.config import Config

        # The baseline's client settings.
        config = Config(
            connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
        )
        self.requests = FloorRequests(table, pool_id, reader, writer, order_id)
        self.clients = {
            "db": boto3.client("dynamodb", config=config),
            "cognito": boto3.client("cognito-idp", config=config),
        }

    def call(self, endpoint: str) -> None:
        """The endpoint's calls, in order."""
        for client, operation, parameters in getattr(self.requests, endpoint)():
            getattr(self.clients[client], operation)(**parameters)
