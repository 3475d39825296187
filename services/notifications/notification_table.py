"""Notifications' access to the single table: notifications and processed markers (what they
read of profiles is in ``recipients``).

Their keys are in ``libs.table_keys`` (``notification_key``, ``marker_key``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from libs.single_table import Item, Page, from_item, query_page, to_item
from libs.table_keys import (
    NOTIFICATION_PREFIX,
    PK,
    SK,
    as_key,
    marker_key,
    notification_key,
    user_partition,
)
from libs.transactions import ConditionFailed, transact_write
from services.notifications.models import Notification, ProcessedMarker

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

_BATCH_WRITE_LIMIT = 25
# Where store_notification puts the conditional marker.
MARKER_ITEM = 0


async def is_processed(db: DynamoDBClient, table: str, event_id: str) -> bool:
    """Whether the event's marker exists (strongly consistent: it may have just been written)."""
    response = await db.get_item(
        TableName=table,
        Key=as_key(marker_key(event_id)),
        ProjectionExpression="#pk",
        ExpressionAttributeNames={"#pk": PK},
        ConsistentRead=True,
    )
    return "Item" in response


async def count_duplicate(db: DynamoDBClient, table: str, event_id: str) -> None:
    """Note one more repeated delivery on the event's marker."""
    await db.update_item(
        TableName=table,
        Key=as_key(marker_key(event_id)),
        UpdateExpression="ADD duplicates :one",
        ConditionExpression="attribute_exists(#pk)",
        ExpressionAttributeNames={"#pk": PK},
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


async def store_notification(
    db: DynamoDBClient, table: str, notification: Notification | None, marker: ProcessedMarker
) -> bool:
    """Write the event's marker and its notification (if any) in one transaction.

    False, and nothing written, when the marker exists: a concurrent delivery got there first.
    Any other cancellation raises (see ``transact_write``): the message is delivered again.
    """
    writes: list[Any] = [
        {
            "Put": {
                "TableName": table,
                "Item": to_item(marker, **marker_key(marker.event_id), entity="ProcessedMarker"),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PK},
            }
        }
    ]
    if notification is not None:
        key = notification_key(
            notification.user_id, notification.created_at, notification.notification_id
        )
        item = to_item(notification, **key, entity="Notification")
        writes.append({"Put": {"TableName": table, "Item": item}})
    try:
        await transact_write(db, writes)
    except ConditionFailed as failed:
        if failed.only(MARKER_ITEM):
            return False
        raise
    return True


async def notifications_of_user(
    db: DynamoDBClient, table: str, user_id: str, *, limit: int, cursor: str | None
) -> Page[Notification]:
    """A page of a user's notifications, newest first."""
    page = await query_page(
        db,
        table=table,
        partition=(PK, user_partition(user_id)),
        sort_prefix=(SK, NOTIFICATION_PREFIX),
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return Page(
        items=[from_item(i, Notification) for i in page.items], next_cursor=page.next_cursor
    )


async def erase_notifications(db: DynamoDBClient, table: str, user_id: str) -> int:
    """Delete every notification of a user; how many there were."""
    keys: list[Item] = []
    paginator = db.get_paginator("query")
    async for page in paginator.paginate(
        TableName=table,
        KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames={"#pk": PK, "#sk": SK},
        ExpressionAttributeValues={
            ":pk": {"S": user_partition(user_id)},
            ":prefix": {"S": NOTIFICATION_PREFIX},
        },
        ProjectionExpression="#pk, #sk",
        ConsistentRead=True,
    ):
        keys += page.get("Items", [])
    for start in range(0, len(keys), _BATCH_WRITE_LIMIT):
        request: dict[str, Any] = {
            table: [
                {"DeleteRequest": {"Key": key}} for key in keys[start : start + _BATCH_WRITE_LIMIT]
            ]
        }
        while request:  # BatchWriteItem may leave some requests unprocessed
            response = await db.batch_write_item(RequestItems=request)
            request = dict(response.get("UnprocessedItems") or {})
    return len(keys)
