"""Orders' access to the single table: orders, their idempotency records, catalog prices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from libs.domain_events import DomainEvent
from libs.outbox import outbox_put
from libs.problems import Conflict
from libs.single_table import Item, Page, from_item, query_page, string_values, to_item
from libs.table_keys import (
    GSI1,
    GSI1PK,
    ORDER_PREFIX,
    PK,
    as_key,
    idempotency_key,
    order_key,
    product_key,
    user_orders_keys,
    user_partition,
)
from libs.transactions import ConditionFailed, transact_write
from services.orders.models import CatalogPrice, IdempotencyRecord, Order, OrderStatus

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import TransactWriteItemTypeDef


# Where insert_order puts the idempotency record, and update_status its conditional update.
IDEMPOTENCY_ITEM = 1
STATUS_UPDATE_ITEM = 0


class KeyAlreadyUsed(Exception):
    """The idempotency record for this key exists: the request was made before."""


def order_item(order: Order) -> Item:
    """An order as a table item, with the GSI1 keys that list it under its user."""
    return to_item(
        order,
        **order_key(order.order_id),
        **user_orders_keys(order.user_id, order.created_at, order.order_id),
        entity="Order",
    )


async def catalog_prices(
    db: DynamoDBClient, table: str, product_ids: Iterable[str]
) -> dict[str, CatalogPrice]:
    """Current catalog prices of the given products; unknown ids are simply absent."""
    keys = [as_key(product_key(product_id)) for product_id in set(product_ids)]
    found: dict[str, CatalogPrice] = {}
    request: dict[str, Any] = {
        table: {
            "Keys": keys,
            "ProjectionExpression": "productId, #name, price, currency",
            "ExpressionAttributeNames": {"#name": "name"},
        }
    }
    while request:  # BatchGetItem may return some keys unprocessed
        response = await db.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(table, []):
            price = from_item(item, CatalogPrice)
            found[price.product_id] = price
        request = dict(response.get("UnprocessedKeys") or {})
    return found


async def insert_order(
    db: DynamoDBClient,
    table: str,
    order: Order,
    idempotency: tuple[str, IdempotencyRecord] | None,
    events: Sequence[DomainEvent] = (),
) -> None:
    """Write a new order, its idempotency record and its events' outbox items in one transaction.

    Raises KeyAlreadyUsed when the key's record exists, and what ``transact_write`` raises
    otherwise: nothing is written then.
    """
    condition = {
        "ConditionExpression": "attribute_not_exists(#pk)",
        "ExpressionAttributeNames": {"#pk": PK},
    }
    writes: list[Any] = [{"Put": {"TableName": table, "Item": order_item(order), **condition}}]
    if idempotency is not None:
        key, record = idempotency
        item = to_item(record, **idempotency_key(order.user_id, key), entity="IdempotencyRecord")
        writes.append({"Put": {"TableName": table, "Item": item, **condition}})
    writes += [outbox_put(table, event) for event in events]
    try:
        await transact_write(db, writes)
    except ConditionFailed as failed:
        if idempotency is not None and failed.only(IDEMPOTENCY_ITEM):
            raise KeyAlreadyUsed from failed
        raise


async def idempotency_record(
    db: DynamoDBClient, table: str, user_id: str, key: str
) -> IdempotencyRecord | None:
    """The record of an idempotency key (strongly consistent: it may have just been written)."""
    response = await db.get_item(
        TableName=table, Key=as_key(idempotency_key(user_id, key)), ConsistentRead=True
    )
    item = response.get("Item")
    return from_item(item, IdempotencyRecord) if item else None


async def get_order(db: DynamoDBClient, table: str, order_id: str) -> Order | None:
    """An order by id, or None."""
    response = await db.get_item(
        TableName=table, Key=as_key(order_key(order_id)), ConsistentRead=True
    )
    item = response.get("Item")
    return from_item(item, Order) if item else None


async def orders_of_user(
    db: DynamoDBClient, table: str, user_id: str, *, limit: int, cursor: str | None
) -> Page[Order]:
    """A page of a user's orders, newest first (GSI1)."""
    page = await query_page(
        db,
        table=table,
        index=GSI1.name,
        partition=(GSI1PK, user_partition(user_id)),
        sort_prefix=(GSI1.keys.sort, ORDER_PREFIX),
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return Page(items=[from_item(i, Order) for i in page.items], next_cursor=page.next_cursor)


async def update_status(
    db: DynamoDBClient,
    table: str,
    order: Order,
    status: OrderStatus,
    *,
    expected_version: int,
    now: str,
    events: Sequence[DomainEvent] = (),
) -> Order:
    """Move ``order`` (as read) to ``status`` if it still has ``expected_version`` and its status.

    The update and the events' outbox items are one transaction. Raises Conflict when another
    change got there first, and what ``transact_write`` raises otherwise; nothing is written
    then.
    """
    update: TransactWriteItemTypeDef = {
        "Update": {
            "TableName": table,
            "Key": as_key(order_key(order.order_id)),
            "UpdateExpression": "SET #status = :to, #version = :next, updatedAt = :now",
            "ConditionExpression": "#version = :expected AND #status = :from",
            "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
            "ExpressionAttributeValues": string_values(
                to=status,
                now=now,
                expected=expected_version,
                next=expected_version + 1,
                **{"from": order.status},
            ),
        }
    }
    try:
        await transact_write(db, [update, *(outbox_put(table, event) for event in events)])
    except ConditionFailed as failed:
        if failed.only(STATUS_UPDATE_ITEM):
            raise Conflict(
                f"Order {order.order_id} changed since version {expected_version}; reload it"
            ) from failed
        raise
    # Every change to an order moves its version on, so the rest of it is as it was read.
    return msgspec.structs.replace(
        order, status=status, version=expected_version + 1, updated_at=now
    )
