"""Notification rules that need no AWS: what each event says, and which channels it goes to."""

from __future__ import annotations

import pytest

from libs.domain_events import (
    OrderCreated,
    OrderLine,
    OrderStatusChanged,
    UserDeleted,
    UserRegistered,
)
from services.notifications.models import Preferences, Recipient
from services.notifications.notifying import UnexpectedEvent, compose, deliveries

ORDER_ID = "4f1c2d3e-0000-4000-8000-000000000000"


def a_status_change(status: str) -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=ORDER_ID, user_id="u-1", previous_status="PENDING", status=status, version=2
    )


def test_a_notification_is_keyed_by_its_event_and_dated_when_it_happened() -> None:
    event = OrderCreated(
        order_id=ORDER_ID,
        user_id="u-1",
        total=6900,
        currency="EUR",
        items=(
            OrderLine(product_id="usb-c-hub", quantity=2, unit_price=3450),
            OrderLine(product_id="desk-lamp", quantity=1, unit_price=5900),
        ),
    )
    notification = compose(event)
    assert notification.notification_id == event.event_id
    assert notification.created_at == event.occurred_at
    assert (notification.user_id, notification.kind, notification.order_id) == (
        "u-1",
        "OrderCreated",
        ORDER_ID,
    )
    assert notification.title == "Order placed"
    assert notification.message == "We received your order 4f1c2d3e (3 items)."


@pytest.mark.parametrize(
    ("status", "title"),
    [
        ("CONFIRMED", "Order confirmed"),
        ("SHIPPED", "Order shipped"),
        ("DELIVERED", "Order delivered"),
        ("CANCELLED", "Order cancelled"),
    ],
)
def test_a_status_change_says_where_the_order_is_now(status: str, title: str) -> None:
    notification = compose(a_status_change(status))
    assert notification.title == title
    assert notification.message == f"Your order 4f1c2d3e is now {status.lower()}."


def test_a_registration_welcomes_the_user_by_name() -> None:
    notification = compose(UserRegistered(user_id="u-1", email="ada@example.com", name="Ada"))
    assert (notification.title, notification.message) == (
        "Welcome",
        "Welcome, Ada! Your account is ready.",
    )


def test_a_deletion_is_not_something_to_notify() -> None:
    with pytest.raises(UnexpectedEvent):
        compose(UserDeleted(user_id="u-1"))


@pytest.mark.parametrize(
    ("preferences", "phone", "channels"),
    [
        (Preferences(), None, ["email"]),  # the defaults: email on, SMS off
        (Preferences(email=True, sms=True), "+351912345678", ["email", "sms"]),
        (Preferences(email=False, sms=True), "+351912345678", ["sms"]),
        (Preferences(email=False, sms=True), None, []),  # SMS wanted, but no phone to send to
        (Preferences(email=False, sms=False), "+351912345678", []),
    ],
)
def test_deliveries_follow_the_users_preferences(
    preferences: Preferences, phone: str | None, channels: list[str]
) -> None:
    notification = compose(a_status_change("SHIPPED"))
    planned = deliveries(notification, Recipient(preferences=preferences, phone=phone))
    assert [d.channel for d in planned] == channels
    assert all(d.subject == "Order shipped" for d in planned)
    assert [d.address for d in planned if d.channel == "sms"] == (
        [phone] if "sms" in channels else []
    )


def test_an_email_goes_to_the_address_the_event_carries_if_any() -> None:
    notification = compose(UserRegistered(user_id="u-1", email="ada@example.com", name="Ada"))
    (email,) = deliveries(notification, Recipient(), "ada@example.com")
    assert (email.channel, email.address, email.user_id) == ("email", "ada@example.com", "u-1")
