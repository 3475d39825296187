"""Notifications over HTTP: orders placed and moved on reach their owner's notification list."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.accounts import SignedInUser

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def notifications(api_url: str, user: SignedInUser, **params: str) -> requests.Response:
    return requests.get(f"{api_url}/notifications", params=params, headers=user.headers, timeout=10)


def wait_for_notifications(api_url: str, user: SignedInUser, count: int) -> list[dict[str, Any]]:
    """The user's notifications once at least ``count`` are listed (at most ten seconds)."""
    deadline = time.monotonic() + 10
    while True:
        response = notifications(api_url, user)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_placing_and_confirming_an_order_notifies_its_owner_newest_first(
    api_url: str, alice: SignedInUser, bob: SignedInUser, admin: SignedInUser
) -> None:
    # Given an order alice placed
    placed = requests.post(
        f"{api_url}/orders",
        json={"items": [{"productId": "usb-c-hub", "quantity": 2}]},
        headers=alice.headers,
        timeout=10,
    )
    assert placed.status_code == 201
    order_id = placed.json()["orderId"]
    # Then within seconds she is told it was placed
    (created,) = wait_for_notifications(api_url, alice, 1)
    assert (created["kind"], created["orderId"], created["title"]) == (
        "OrderCreated",
        order_id,
        "Order placed",
    )
    assert created["userId"] == alice.user_id
    assert created["channels"] == ["email"]  # the defaults: no profile saved
    # When an admin confirms it
    confirmed = requests.patch(
        f"{api_url}/orders/{order_id}",
        json={"status": "CONFIRMED"},
        headers=admin.headers,
        timeout=10,
    )
    assert confirmed.status_code == 200
    # Then a second notification comes, listed first
    items = wait_for_notifications(api_url, alice, 2)
    assert [(n["kind"], n["title"]) for n in items] == [
        ("OrderStatusChanged", "Order confirmed"),
        ("OrderCreated", "Order placed"),
    ]
    assert items[0]["message"] == f"Your order {order_id[:8]} is now confirmed."
    assert items[0]["notificationId"] != items[1]["notificationId"]
    # And nobody else sees them
    assert notifications(api_url, bob).json() == {"items": [], "nextCursor": None}


def test_notifications_are_paged_with_a_cursor(api_url: str, alice: SignedInUser) -> None:
    for _ in range(2):
        response = requests.post(
            f"{api_url}/orders",
            json={"items": [{"productId": "usb-c-hub", "quantity": 1}]},
            headers=alice.headers,
            timeout=10,
        )
        assert response.status_code == 201
    everything = wait_for_notifications(api_url, alice, 2)
    first = notifications(api_url, alice, limit="1").json()
    second = notifications(api_url, alice, limit="1", cursor=first["nextCursor"]).json()
    assert [n["notificationId"] for n in first["items"] + second["items"]] == [
        n["notificationId"] for n in everything
    ]
    assert second["nextCursor"] is None


@pytest.mark.parametrize(
    ("params", "status", "slug"),
    [
        ({"limit": "0"}, 422, "validation-failed"),
        ({"limit": "many"}, 422, "validation-failed"),
        ({"cursor": "not-a-cursor"}, 400, "bad-request"),
    ],
)
def test_a_bad_query_is_a_problem(
    api_url: str, alice: SignedInUser, params: dict[str, str], status: int, slug: str
) -> None:
    response = notifications(api_url, alice, **params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith(f"/{slug}")


def test_notifications_need_a_token(api_url: str) -> None:
    response = requests.get(f"{api_url}/notifications", timeout=10)
    assert response.status_code == 401
