"""The floor: only the SDK calls each endpoint needs, made directly with aiobotocore."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import get_session

from libs.aws_clients import CLIENT_CONFIG


class RawCalls:
    """The endpoints' AWS round trips with nothing around them (no routing, models, logs)."""

    def __init__(self, table: str, pool_id: str, reader: str, writer: str, order_id: str) -> None:
        self.table, self.pool_id = table, pool_id
        self.reader, self.writer, self.order_id = reader, writer, order_id
        self._stack = AsyncExitStack()
        self.db: Any = None
        self.cognito: Any = None

    async def open(self) -> None:
        session = get_session()
        self.db = await self._stack.enter_async_context(
            session.create_client("dynamodb", config=CLIENT_CONFIG)
        )
        self.cognito = await self._stack.enter_async_context(
            session.create_client("cognito-idp", config=CLIENT_CONFIG)
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def get_order(self) -> None:
        key = {"PK": {"S": f"ORDER#{self.order_id}"}, "SK": {"S": "DETAILS"}}
        await self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True)

    async def list_orders(self) -> None:
        await self.db.query(
            TableName=self.table,
            IndexName="GSI1",
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :sk)",
            ExpressionAttributeNames={"#pk": "GSI1PK", "#sk": "GSI1SK"},
            ExpressionAttributeValues={
                ":pk": {"S": f"USER#{self.reader}"},
                ":sk": {"S": "ORDER#"},
            },
            Limit=21,
            ScanIndexForward=False,
        )

    async def get_me(self) -> None:
        key = {"PK": {"S": f"USER#{self.reader}"}, "SK": {"S": "PROFILE"}}
        await asyncio.gather(
            self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=self.reader),
            self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True),
        )

    async def post_order(self) -> None:
        order_id, event_id, key = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        record_key = {"PK": {"S": f"IDEMPOTENCY#{self.writer}#{key}"}, "SK": {"S": "RECORD"}}
        await self.db.get_item(TableName=self.table, Key=record_key, ConsistentRead=True)
        await self.db.batch_get_item(
            RequestItems={
                self.table: {
                    "Keys": [
                        {"PK": {"S": f"PRODUCT#{p}"}, "SK": {"S": "INFO"}}
                        for p in ("usb-c-hub", "desk-lamp")
                    ],
                    "ProjectionExpression": "productId, #name, price, currency",
                    "ExpressionAttributeNames": {"#name": "name"},
                }
            }
        )
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
        await self.db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": item, **condition}}
                for item in (order, record, outbox)
            ]
        )
