"""Notifications' rules and data access against the emulator's DynamoDB, through the real SDK."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import msgspec
import pytest
from aws_lambda_powertools import Logger

from libs.domain_events import OrderStatusChanged, UserDeleted, utc_now
from libs.single_table import from_item, to_attribute
from libs.table_keys import as_key, marker_key, profile_key
from services.notifications import notification_table
from services.notifications.channels import LocalChannels
from services.notifications.models import ProcessedMarker
from services.notifications.notifying import handle_event
from services.notifications.recipients import PhoneOpener, UnreadableProfile

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


pytestmark = pytest.mark.integration


def a_user() -> str:
    return str(uuid.uuid4())


def shipped(user_id: str, occurred_at: str | None = None) -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=str(uuid.uuid4()),
        user_id=user_id,
        previous_status="CONFIRMED",
        status="SHIPPED",
        version=3,
        occurred_at=occurred_at or utc_now(),
    )


@pytest.fixture
def channels() -> LocalChannels:
    return LocalChannels(Logger(service="notifications-tests"))


async def marker(db: DynamoDBClient, table: str, event_id: str) -> ProcessedMarker | None:
    response = await db.get_item(TableName=table, Key=as_key(marker_key(event_id)))
    return from_item(response["Item"], ProcessedMarker) if "Item" in response else None


async def test_an_event_handled_twice_notifies_and_delivers_once(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    # Given an order event for a user without a profile (default preferences)
    user = a_user()
    event = shipped(user)
    # When it is handled, then handled again (a repeated delivery)
    first = await handle_event(dynamodb, table_name, channels, event, phones)
    second = await handle_event(dynamodb, table_name, channels, event, phones)
    # Then one notification exists, sent once by email, and the marker counts the repeat
    assert (first, second) == ("notified", "duplicate")
    page = await notification_table.notifications_of_user(
        dynamodb, table_name, user, limit=10, cursor=None
    )
    assert [n.notification_id for n in page.items] == [event.event_id]
    assert page.items[0].channels == ["email"]
    assert [(d.channel, d.user_id) for d in channels.sent] == [("email", user)]
    stored = await marker(dynamodb, table_name, event.event_id)
    assert stored is not None
    assert (stored.detail_type, stored.duplicates) == ("OrderStatusChanged", 1)


async def test_the_profiles_preferences_choose_the_channels(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    # Given a user who turned email off and SMS on, with a phone number (sealed, as the users
    # service stores it)
    user = a_user()
    sealed = await phones.sealer.seal(
        phones.kms, msgspec.json.encode("+351912345678"), owner=user, field="phone"
    )
    await dynamodb.put_item(
        TableName=table_name,
        Item={
            **as_key(profile_key(user)),
            "preferences": {"M": {"email": {"BOOL": False}, "sms": {"BOOL": True}}},
            "phone": to_attribute(msgspec.to_builtins(sealed)),
        },
    )
    # When an event for them is handled
    await handle_event(dynamodb, table_name, channels, shipped(user), phones)
    # Then it went by SMS to that phone only
    assert [(d.channel, d.address) for d in channels.sent] == [("sms", "+351912345678")]
    page = await notification_table.notifications_of_user(
        dynamodb, table_name, user, limit=10, cursor=None
    )
    assert page.items[0].channels == ["sms"]


async def test_a_malformed_profile_fails_the_event_and_leaves_no_trace(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    # Given a profile whose preferences are not a map of flags
    user = a_user()
    await dynamodb.put_item(
        TableName=table_name,
        Item={**as_key(profile_key(user)), "preferences": {"S": "all of them"}},
    )
    event = shipped(user)
    # When an event for that user is handled, it fails
    with pytest.raises(UnreadableProfile, match="preferences"):
        await handle_event(dynamodb, table_name, channels, event, phones)
    # Then nothing was sent or stored, so a retry after the fix starts afresh
    assert channels.sent == []
    assert await marker(dynamodb, table_name, event.event_id) is None


async def test_a_phone_sealed_for_another_user_sends_no_sms(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    # Given a profile that opted into SMS holding a phone sealed for someone else
    user, other = a_user(), a_user()
    sealed = await phones.sealer.seal(
        phones.kms, msgspec.json.encode("+351912345678"), owner=other, field="phone"
    )
    await dynamodb.put_item(
        TableName=table_name,
        Item={
            **as_key(profile_key(user)),
            "preferences": {"M": {"email": {"BOOL": True}, "sms": {"BOOL": True}}},
            "phone": to_attribute(msgspec.to_builtins(sealed)),
        },
    )
    event = shipped(user)
    # When an event for that user is handled, it fails
    with pytest.raises(UnreadableProfile, match="does not open"):
        await handle_event(dynamodb, table_name, channels, event, phones)
    # Then nothing was sent to that phone, nor marked done
    assert channels.sent == []
    assert await marker(dynamodb, table_name, event.event_id) is None


async def test_notifications_come_newest_first_in_pages(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    user = a_user()
    events = [shipped(user, f"2026-01-01T00:00:0{i}.000Z") for i in range(3)]
    for event in events:
        await handle_event(dynamodb, table_name, channels, event, phones)
    seen: list[str] = []
    cursor = None
    while True:
        page = await notification_table.notifications_of_user(
            dynamodb, table_name, user, limit=2, cursor=cursor
        )
        seen += [n.notification_id for n in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [e.event_id for e in reversed(events)]


async def test_a_deleted_user_has_their_notifications_erased(
    dynamodb: DynamoDBClient, table_name: str, channels: LocalChannels, phones: PhoneOpener
) -> None:
    # Given a user with notifications, and another user with one
    user, other = a_user(), a_user()
    for event in (shipped(user), shipped(user), shipped(other)):
        await handle_event(dynamodb, table_name, channels, event, phones)
    # When the user's deletion is handled, twice
    deleted = UserDeleted(user_id=user)
    assert await handle_event(dynamodb, table_name, channels, deleted, phones) == "erased"
    assert await handle_event(dynamodb, table_name, channels, deleted, phones) == "duplicate"
    # Then their notifications are gone and the other user's are not
    mine = await notification_table.notifications_of_user(
        dynamodb, table_name, user, limit=10, cursor=None
    )
    theirs = await notification_table.notifications_of_user(
        dynamodb, table_name, other, limit=10, cursor=None
    )
    assert (len(mine.items), len(theirs.items)) == (0, 1)
