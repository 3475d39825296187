"""Waiting for what the asynchronous consumers did: bounded polls, and the items they write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from libs.single_table import from_item
from libs.table_keys import as_key, marker_key
from services.notifications import notification_table
from services.notifications.models import Notification, ProcessedMarker

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


async def eventually[T](probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Probe until ``done`` holds or fifteen seconds pass; the last result either way."""
    for _ in range(150):
        result = await probe()
        if done(result):
            return result
        await asyncio.sleep(0.1)
    return result


async def notifications_of(db: DynamoDBClient, table: str, user_id: str) -> list[Notification]:
    """The user's notifications as the consumer stored them, newest first (up to 100)."""
    page = await notification_table.notifications_of_user(
        db, table, user_id, limit=100, cursor=None
    )
    return page.items


async def marker_of(db: DynamoDBClient, table: str, event_id: str) -> ProcessedMarker | None:
    """The consumer's marker of having handled ``event_id`` (repeats counted), if it has."""
    key = as_key(marker_key(event_id))
    item = (await db.get_item(TableName=table, Key=key, ConsistentRead=True)).get("Item")
    return from_item(item, ProcessedMarker) if item else None
