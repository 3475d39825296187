"""Wire and stored shapes of notifications, and what they read of a user's profile."""

from __future__ import annotations

from typing import Literal

import msgspec

from libs.single_table import PageQuery

Channel = Literal["email", "sms"]


class Preferences(msgspec.Struct, kw_only=True):
    """The channels a user accepts; the defaults hold until they choose."""

    email: bool = True
    sms: bool = False


class Recipient(msgspec.Struct, rename="camel", kw_only=True):
    """What notifications read of the ``USER#<id> / PROFILE`` item (the users service owns it)."""

    preferences: Preferences = msgspec.field(default_factory=Preferences)
    phone: str | None = None


class Notification(msgspec.Struct, rename="camel", kw_only=True):
    """A message to a user about something that happened, as stored and as listed."""

    notification_id: str  # the id of the event it tells about: one notification per event
    user_id: str
    kind: str  # the event's detail-type
    title: str
    message: str
    created_at: str  # when the event occurred
    channels: list[Channel] = msgspec.field(default_factory=list)  # where it was delivered
    order_id: str | None = None


class ProcessedMarker(msgspec.Struct, rename="camel", kw_only=True):
    """Proof that an event was handled, so a repeated delivery changes nothing."""

    event_id: str
    detail_type: str
    processed_at: str
    duplicates: int = 0  # repeated deliveries seen since (at least once means some will come)


class NotificationQuery(PageQuery, forbid_unknown_fields=True):
    """The query string of GET /notifications."""


class NotificationPage(msgspec.Struct, rename="camel"):
    """A page of the caller's notifications, newest first."""

    items: list[Notification]
    next_cursor: str | None
