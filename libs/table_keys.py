"""Key layout of the single table: every entity's partition and sort keys, written once.

| entity       | PK                  | SK                   | GSI1PK         | GSI1SK          |
|--------------|---------------------|----------------------|----------------|-----------------|
| product      | PRODUCT#<id>        | INFO                 | CATEGORY#<cat> | PRODUCT#<id>    |
| order        | ORDER#<id>          | DETAILS              | USER#<userId>  | ORDER#<at>#<id> |
| profile      | USER#<id>           | PROFILE              |                |                 |
| idempotency  | IDEMPOTENCY#<u>#<k> | RECORD               |                |                 |
| outbox       | OUTBOX#<eventId>    | EVENT                |                |                 |
| marker       | PROCESSED#<eventId> | MARKER               |                |                 |
| notification | USER#<userId>       | NOTIF#<at>#<eventId> |                |                 |

``<at>`` is the creation time (ISO 8601, so keys sort by time). Only products have GSI2 keys
(a sparse index of the whole catalog): GSI2PK ``PRODUCTS``, GSI2SK ``PRODUCT#<id>``.
Lifetimes and access patterns: ``libs/resources/table.py``.
"""

from __future__ import annotations

from libs.resources.table import MAIN_TABLE

PK, SK = MAIN_TABLE.keys.partition, MAIN_TABLE.keys.sort
GSI1 = MAIN_TABLE.index("GSI1")
GSI1PK, GSI1SK = GSI1.keys.partition, GSI1.keys.sort
GSI2 = MAIN_TABLE.index("GSI2")
GSI2PK, GSI2SK = GSI2.keys.partition, GSI2.keys.sort

PRODUCT_PREFIX = "PRODUCT#"
ORDER_PREFIX = "ORDER#"
CATALOG_PARTITION = "PRODUCTS"


def product_key(product_id: str) -> dict[str, str]:
    """Table key of a product."""
    return {PK: f"{PRODUCT_PREFIX}{product_id}", SK: "INFO"}


def category_keys(category: str, product_id: str) -> dict[str, str]:
    """GSI1 keys that list a product under its category."""
    return {GSI1PK: category_partition(category), GSI1SK: f"{PRODUCT_PREFIX}{product_id}"}


def catalog_keys(product_id: str) -> dict[str, str]:
    """GSI2 keys that list a product in the whole catalog (only products have them)."""
    return {GSI2PK: CATALOG_PARTITION, GSI2SK: f"{PRODUCT_PREFIX}{product_id}"}


def category_partition(category: str) -> str:
    """GSI1 partition of a category."""
    return f"CATEGORY#{category}"


def order_key(order_id: str) -> dict[str, str]:
    """Table key of an order."""
    return {PK: f"{ORDER_PREFIX}{order_id}", SK: "DETAILS"}


def user_orders_keys(user_id: str, created_at: str, order_id: str) -> dict[str, str]:
    """GSI1 keys that list an order under its user, ordered by creation time."""
    return {GSI1PK: user_partition(user_id), GSI1SK: f"{ORDER_PREFIX}{created_at}#{order_id}"}


def user_partition(user_id: str) -> str:
    """Partition of a user (its profile; GSI1 partition of its orders)."""
    return f"USER#{user_id}"


def profile_key(user_id: str) -> dict[str, str]:
    """Table key of a user's profile."""
    return {PK: user_partition(user_id), SK: "PROFILE"}


def idempotency_key(user_id: str, key: str) -> dict[str, str]:
    """Table key of an idempotency record, scoped to the user who sent the key."""
    return {PK: f"IDEMPOTENCY#{user_id}#{key}", SK: "RECORD"}


def as_key(key: dict[str, str]) -> dict[str, dict[str, str]]:
    """A key as DynamoDB attributes."""
    return {name: {"S": value} for name, value in key.items()}
