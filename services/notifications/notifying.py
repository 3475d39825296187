"""Notification rules: what each event tells its user, on which channels, exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from libs.domain_events import (
    DomainEvent,
    OrderCreated,
    OrderStatusChanged,
    UserDeleted,
    UserRegistered,
    utc_now,
)
from services.notifications import notification_table, recipients
from services.notifications.channels import Channels, Delivery
from services.notifications.models import Channel, Notification, ProcessedMarker, Recipient

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

Outcome = Literal["notified", "erased", "duplicate"]

_STATUS_TITLES = {
    "CONFIRMED": "Order confirmed",
    "SHIPPED": "Order shipped",
    "DELIVERED": "Order delivered",
    "CANCELLED": "Order cancelled",
}


class UnexpectedEvent(Exception):
    """An event this service has no notification for."""


def compose(event: DomainEvent) -> Notification:
    """The notification telling the event's user what happened (channels not chosen yet)."""
    if isinstance(event, OrderCreated):
        count = sum(line.quantity for line in event.items)
        return Notification(
            notification_id=event.event_id,
            created_at=event.occurred_at,
            user_id=event.user_id,
            kind=event.DETAIL_TYPE,
            order_id=event.order_id,
            title="Order placed",
            message=f"We received your order {_short(event.order_id)} ({count} items).",
        )
    if isinstance(event, OrderStatusChanged):
        return Notification(
            notification_id=event.event_id,
            created_at=event.occurred_at,
            user_id=event.user_id,
            kind=event.DETAIL_TYPE,
            order_id=event.order_id,
            title=_STATUS_TITLES.get(event.status, "Order updated"),
            message=f"Your order {_short(event.order_id)} is now {event.status.lower()}.",
        )
    if isinstance(event, UserRegistered):
        return Notification(
            notification_id=event.event_id,
            created_at=event.occurred_at,
            user_id=event.user_id,
            kind=event.DETAIL_TYPE,
            title="Welcome",
            message=f"Welcome, {event.name}! Your account is ready.",
        )
    raise UnexpectedEvent(f"no notification for {event.DETAIL_TYPE}")


def deliveries(
    notification: Notification, recipient: Recipient, email: str | None = None
) -> list[Delivery]:
    """The deliveries the user's preferences allow; SMS only to a phone they gave."""
    planned = []
    preferences = recipient.preferences
    if preferences.email:
        planned.append(_delivery(notification, "email", email))
    if preferences.sms and recipient.phone:
        planned.append(_delivery(notification, "sms", recipient.phone))
    return planned


async def handle_event(
    db: DynamoDBClient,
    table: str,
    channels: Channels,
    event: DomainEvent,
    phones: recipients.PhoneOpener,
) -> Outcome:
    """Notify the event's user once however often it is delivered (a deletion erases instead).

    Sending comes before the commit: a crash between may send twice, never mark done unsent.
    """
    if await notification_table.is_processed(db, table, event.event_id):
        await notification_table.count_duplicate(db, table, event.event_id)
        return "duplicate"
    marker = ProcessedMarker(
        event_id=event.event_id, detail_type=event.DETAIL_TYPE, processed_at=utc_now()
    )
    if isinstance(event, UserDeleted):
        await notification_table.erase_notifications(db, table, event.user_id)
        await notification_table.store_notification(db, table, None, marker)
        return "erased"
    notification = compose(event)
    recipient = await recipients.recipient(db, table, notification.user_id, phones)
    # Only a registration carries the address; otherwise the email channel looks it up.
    email = event.email if isinstance(event, UserRegistered) else None
    planned = deliveries(notification, recipient, email)
    for delivery in planned:
        await channels.deliver(delivery)
    notification = msgspec.structs.replace(
        notification, channels=[delivery.channel for delivery in planned]
    )
    if not await notification_table.store_notification(db, table, notification, marker):
        await notification_table.count_duplicate(db, table, event.event_id)
        return "duplicate"
    return "notified"


def _delivery(notification: Notification, channel: Channel, address: str | None) -> Delivery:
    return Delivery(
        channel=channel,
        user_id=notification.user_id,
        address=address,
        subject=notification.title,
        text=notification.message,
    )


def _short(order_id: str) -> str:
    return order_id[:8]
