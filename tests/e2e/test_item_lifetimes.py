"""Each kind of item the services write carries the lifetime declared for it with the table:
``expiresAt`` that long after the write, or none for the kinds kept."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests

from libs.resources.table import MAIN_TABLE
from libs.table_keys import (
    as_key,
    idempotency_key,
    marker_key,
    notification_key,
    order_key,
    outbox_key,
    product_key,
    profile_key,
)
from tests.accounts import SignedInUser
from tests.polling import eventually, notifications_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e


async def send(method: str, url: str, user: SignedInUser, body: Any, **headers: str) -> Any:
    response = await asyncio.to_thread(
        requests.request, method, url, json=body, headers=user.headers | headers, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def stored(db: DynamoDBClient, table: str, key: dict[str, str]) -> dict[str, Any]:
    response = await db.get_item(TableName=table, Key=as_key(key), ConsistentRead=True)
    assert "Item" in response, key
    return dict(response["Item"])


async def test_every_item_kind_written_expires_as_declared(
    api_url: str,
    alice: SignedInUser,
    admin: SignedInUser,
    dynamodb: DynamoDBClient,
    table_name: str,
) -> None:
    started = int(time.time())
    # Given an admin adds a product, alice saves her profile and places an order with a key
    product = await send(
        "POST",
        f"{api_url}/products",
        admin,
        {"name": "Desk mat", "category": "office", "price": 1999, "currency": "EUR"},
    )
    await send("PUT", f"{api_url}/users/me", alice, {"version": 0, "name": "Alice"})
    key = f"lifetimes-{uuid.uuid4()}"
    order = await send(
        "POST",
        f"{api_url}/orders",
        alice,
        {"items": [{"productId": "desk-lamp", "quantity": 1}]},
        **{"Idempotency-Key": key},
    )
    # And the notifications consumer has handled the order's event
    (notification,) = await eventually(
        lambda: notifications_of(dynamodb, table_name, alice.user_id), lambda found: len(found) == 1
    )
    finished = int(time.time())
    event_id = notification.notification_id
    # When every item those requests wrote is read back
    written = {
        "Product": product_key(product["productId"]),
        "Profile": profile_key(alice.user_id),
        "Order": order_key(order["orderId"]),
        "IdempotencyRecord": idempotency_key(alice.user_id, key),
        "OutboxEvent": outbox_key(event_id),
        "ProcessedMarker": marker_key(event_id),
        "Notification": notification_key(alice.user_id, notification.created_at, event_id),
    }
    # Then that is every kind the table declares
    assert set(written) == {lifetime.entity for lifetime in MAIN_TABLE.lifetimes}
    for entity, item_key in written.items():
        item = await stored(dynamodb, table_name, item_key)
        assert item["entity"] == {"S": entity}
        ttl_seconds = MAIN_TABLE.lifetime(entity).ttl_seconds
        if ttl_seconds is None:
            # And a kept kind has no expiry
            assert MAIN_TABLE.ttl_attribute not in item, entity
        else:
            # And an expiring kind expires its lifetime after it was written
            expires_at = int(item[MAIN_TABLE.ttl_attribute]["N"])
            assert started + ttl_seconds <= expires_at <= finished + ttl_seconds, entity
