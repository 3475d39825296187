"""The whole journey of a customer over HTTP, in the order a real client makes its calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.accounts import AccountEmails

pytestmark = pytest.mark.e2e

PASSWORD = "Correct-Horse-7"


class Client:
    """A customer's HTTP client: remembers the current access token."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.access_token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        return requests.request(
            method, f"{self.api_url}{path}", json=body, headers=headers, timeout=10
        )


@pytest.mark.moto("confirms with a made-up code, which moto accepts")
def test_register_to_logout_through_profile_order_and_notification(
    api_url: str, account_emails: AccountEmails
) -> None:
    client = Client(api_url)
    email = account_emails.new("journey")
    # Given a registration, confirmed with the emailed code, and a login
    registration = {"email": email, "password": PASSWORD, "name": "Grace"}
    assert client.call("POST", "/auth/register", registration).status_code == 201
    confirmation = {"email": email, "code": "123456"}
    assert client.call("POST", "/auth/confirm", confirmation).status_code == 204
    login = client.call("POST", "/auth/login", {"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    client.access_token = tokens["accessToken"]

    # When the customer reads and updates their profile
    me = client.call("GET", "/users/me")
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["name"], me.json()["version"]) == (email, "Grace", 0)
    update = {"version": 0, "phone": "+351912345678", "preferences": {"sms": True}}
    updated = client.call("PUT", "/users/me", update)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 1
    assert updated.json()["preferences"] == {"email": True, "sms": True}

    # And places an order
    order = client.call("POST", "/orders", {"items": [{"productId": "notebook-a5", "quantity": 3}]})
    assert order.status_code == 201, order.text
    assert order.json()["total"] == 3 * 1290

    # Then a notification of it arrives through the bus, the queue and the consumer
    notifications: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not notifications and time.monotonic() < deadline:
        notifications = client.call("GET", "/notifications").json()["items"]
        time.sleep(0.2)
    assert notifications, "no notification arrived within 10 s"

    # When the session is refreshed, the new access token works
    refresh = {"refreshToken": tokens["refreshToken"]}
    refreshed = client.call("POST", "/auth/refresh", refresh)
    assert refreshed.status_code == 200, refreshed.text
    client.access_token = refreshed.json()["accessToken"]
    assert client.call("GET", "/orders").json()["items"][0]["orderId"] == order.json()["orderId"]

    # And after logout the refresh token no longer works
    assert client.call("POST", "/auth/logout").status_code == 204
    client.access_token = None
    dead = client.call("POST", "/auth/refresh", refresh)
    assert dead.status_code == 401
    assert dead.headers["content-type"] == "application/problem+json"
