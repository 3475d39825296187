"""Key layout of the single table: every item kind's keys, each prefix written once here.

``KEY_SHAPES`` states each kind's key shapes (``docs/data.md`` is tested against it); ``<at>`` is
the creation time (ISO 8601, so keys sort by time). Only products have GSI2 keys (a sparse index
of the whole catalog). Lifetimes and access patterns: ``libs/resources/table.py``.
"""

from __future__ import annotations

from libs.resources.table import MAIN_TABLE

PK, SK = MAIN_TABLE.keys.partition, MAIN_TABLE.keys.sort
GSI1 = MAIN_TABLE.index("GSI1")
GSI1PK, GSI1SK = GSI1.keys.partition, GSI1.keys.sort
GSI2 = MAIN_TABLE.index("GSI2")
GSI2PK, GSI2SK = GSI2.keys.partition, GSI2.keys.sort

PRODUCT_PREFIX = "PRODUCT#"
CATEGORY_PREFIX = "CATEGORY#"
ORDER_PREFIX = "ORDER#"
USER_PREFIX = "USER#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
OUTBOX_PREFIX = "OUTBOX#"
PROCESSED_PREFIX = "PROCESSED#"
NOTIFICATION_PREFIX = "NOTIF#"
CATALOG_PARTITION = "PRODUCTS"
PRODUCT_SORT_KEY = "INFO"
ORDER_SORT_KEY = "DETAILS"
PROFILE_SORT_KEY = "PROFILE"
IDEMPOTENCY_SORT_KEY = "RECORD"
OUTBOX_SORT_KEY = "EVENT"
MARKER_SORT_KEY = "MARKER"

# Each item kind (its ``entity``) and the shape of its keys: PK, SK, GSI1PK, GSI1SK, GSI2PK,
# GSI2SK ("" where the kind has no such key).
KEY_SHAPES: dict[str, tuple[str, str, str, str, str, str]] = {
    "Product": (
        f"{PRODUCT_PREFIX}<id>",
        PRODUCT_SORT_KEY,
        f"{CATEGORY_PREFIX}<category>",
        f"{PRODUCT_PREFIX}<id>",
        CATALOG_PARTITION,
        f"{PRODUCT_PREFIX}<id>",
    ),
    "Order": (
        f"{ORDER_PREFIX}<id>",
        ORDER_SORT_KEY,
        f"{USER_PREFIX}<userId>",
        f"{ORDER_PREFIX}<createdAt>#<id>",
        "",
        "",
    ),
    "Profile": (f"{USER_PREFIX}<id>", PROFILE_SORT_KEY, "", "", "", ""),
    "IdempotencyRecord": (
        f"{IDEMPOTENCY_PREFIX}<userId>#<key>",
        IDEMPOTENCY_SORT_KEY,
        "",
        "",
        "",
        "",
    ),
    "OutboxEvent": (f"{OUTBOX_PREFIX}<eventId>", OUTBOX_SORT_KEY, "", "", "", ""),
    "ProcessedMarker": (f"{PROCESSED_PREFIX}<eventId>", MARKER_SORT_KEY, "", "", "", ""),
    "Notification": (
        f"{USER_PREFIX}<userId>",
        f"{NOTIFICATION_PREFIX}<createdAt>#<eventId>",
        "",
        "",
        "",
        "",
    ),
}


def product_key(product_id: str) -> dict[str, str]:
    """Table key of a product."""
    return {PK: f"{PRODUCT_PREFIX}{product_id}", SK: PRODUCT_SORT_KEY}


def category_keys(category: str, product_id: str) -> dict[str, str]:
    """GSI1 keys that list a product under its category."""
    return {GSI1PK: category_partition(category), GSI1SK: f"{PRODUCT_PREFIX}{product_id}"}


def catalog_keys(product_id: str) -> dict[str, str]:
    """GSI2 keys that list a product in the whole catalog (only products have them)."""
    return {GSI2PK: CATALOG_PARTITION, GSI2SK: f"{PRODUCT_PREFIX}{product_id}"}


def category_partition(category: str) -> str:
    """GSI1 partition of a category."""
    return f"{CATEGORY_PREFIX}{category}"


def order_key(order_id: str) -> dict[str, str]:
    """Table key of an order."""
    return {PK: f"{ORDER_PREFIX}{order_id}", SK: ORDER_SORT_KEY}


def user_orders_keys(user_id: str, created_at: str, order_id: str) -> dict[str, str]:
    """GSI1 keys that list an order under its user, ordered by creation time."""
    return {GSI1PK: user_partition(user_id), GSI1SK: f"{ORDER_PREFIX}{created_at}#{order_id}"}


def user_partition(user_id: str) -> str:
    """Partition of a user (its profile; GSI1 partition of its orders)."""
    return f"{USER_PREFIX}{user_id}"


def profile_key(user_id: str) -> dict[str, str]:
    """Table key of a user's profile."""
    return {PK: user_partition(user_id), SK: PROFILE_SORT_KEY}


def idempotency_key(user_id: str, key: str) -> dict[str, str]:
    """Table key of an idempotency record, scoped to the user who sent the key."""
    return {PK: f"{IDEMPOTENCY_PREFIX}{user_id}#{key}", SK: IDEMPOTENCY_SORT_KEY}


def outbox_key(event_id: str) -> dict[str, str]:
    """Table key of an event's outbox item."""
    return {PK: f"{OUTBOX_PREFIX}{event_id}", SK: OUTBOX_SORT_KEY}


def marker_key(event_id: str) -> dict[str, str]:
    """Table key of the marker saying a consumer handled an event."""
    return {PK: f"{PROCESSED_PREFIX}{event_id}", SK: MARKER_SORT_KEY}


def notification_key(user_id: str, created_at: str, event_id: str) -> dict[str, str]:
    """Table key of a notification: under its user, in time order."""
    return {PK: user_partition(user_id), SK: f"{NOTIFICATION_PREFIX}{created_at}#{event_id}"}


def as_key(key: dict[str, str]) -> dict[str, dict[str, str]]:
    """A key as DynamoDB attributes."""
    return {name: {"S": value} for name, value in key.items()}
