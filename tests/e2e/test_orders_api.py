"""Orders over HTTP through the local gateway: the life of an order and ways to misuse it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.accounts import SignedInUser

PROBLEM = "application/problem+json"
ONE_HUB = {"items": [{"productId": "usb-c-hub", "quantity": 2}]}


def place(
    api_url: str, user: SignedInUser, body: Any = ONE_HUB, **headers: str
) -> requests.Response:
    return requests.post(f"{api_url}/orders", json=body, headers=user.headers | headers, timeout=15)


def order_ids(api_url: str, user: SignedInUser) -> list[str]:
    """Every order of the user, following cursors."""
    ids: list[str] = []
    cursor = None
    while True:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        page = requests.get(f"{api_url}/orders", params=params, headers=user.headers, timeout=10)
        assert page.status_code == 200
        ids += [o["orderId"] for o in page.json()["items"]]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            return ids


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/{slug}")
    assert body["status"] == status
    return body


# -- placing ----------------------------------------------------------------------------------


def test_an_order_is_priced_from_the_catalog(api_url: str, alice: SignedInUser) -> None:
    # When alice orders two hubs and a book
    body = {
        "items": [
            {"productId": "usb-c-hub", "quantity": 2},
            {"productId": "dynamodb-book", "quantity": 1},
        ],
        "shippingAddress": {
            "name": "Alice",
            "line1": "1 Main St",
            "city": "Lisbon",
            "postalCode": "1000-001",
            "country": "PT",
        },
    }
    response = place(api_url, alice, body)
    # Then the order is pending, priced by the catalog, and readable at its Location
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "PENDING"
    assert order["total"] == 2 * 3450 + 7900
    assert order["currency"] == "EUR"
    assert order["version"] == 1
    assert [(i["productId"], i["unitPrice"]) for i in order["items"]] == [
        ("usb-c-hub", 3450),
        ("dynamodb-book", 7900),
    ]
    assert response.headers["location"] == f"/orders/{order['orderId']}"
    fetched = requests.get(
        f"{api_url}{response.headers['location']}", headers=alice.headers, timeout=10
    )
    assert fetched.json() == order


def test_a_client_cannot_set_prices(api_url: str, alice: SignedInUser) -> None:
    body = {"items": [{"productId": "usb-c-hub", "quantity": 1, "unitPrice": 1}]}
    problem = assert_problem(place(api_url, alice, body), 422, "validation-failed")
    assert problem["invalidParams"][0]["name"] == "items[0].unitPrice"
    assert order_ids(api_url, alice) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"productId": "usb-c-hub", "quantity": -1}]}, "items[0].quantity"),
        ({"items": [{"productId": "usb-c-hub", "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"productId": "usb-c-hub", "quantity": 101}]}, "items[0].quantity"),
        ({"items": [{"productId": "usb-c-hub", "quantity": "2"}]}, "items[0].quantity"),
        ({"items": [{"productId": 7, "quantity": 1}]}, "items[0].productId"),
        ({"items": []}, "items"),
        ({"items": [{"productId": "usb-c-hub", "quantity": 1}], "coupon": "FREE"}, "coupon"),
        ({"items": [{"productId": "No-Such-Product", "quantity": 1}]}, "items[0].productId"),
    ],
)
def test_an_invalid_order_is_a_422_naming_the_field_and_writes_nothing(
    api_url: str, alice: SignedInUser, body: Any, field: str
) -> None:
    problem = assert_problem(place(api_url, alice, body), 422, "validation-failed")
    assert field in [p["name"] for p in problem["invalidParams"]]
    assert order_ids(api_url, alice) == []


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"productId": "no-such-product", "quantity": 1}], "items[0].productId"),
        (
            [{"productId": "usb-c-hub", "quantity": 1}, {"productId": "nope", "quantity": 1}],
            "items[1].productId",
        ),
        (
            [{"productId": "usb-c-hub", "quantity": 1}, {"productId": "usb-c-hub", "quantity": 2}],
            "items[1].productId",
        ),
    ],
)
def test_an_order_the_catalog_cannot_price_is_refused_naming_the_line(
    api_url: str, alice: SignedInUser, items: list[dict[str, Any]], field: str
) -> None:
    # Given lines valid by the schema that name a missing product or one product twice
    # When the order is placed
    problem = assert_problem(place(api_url, alice, {"items": items}), 422, "order-refused")
    # Then the refusal names the line, and nothing is written
    assert field in [p["name"] for p in problem["invalidParams"]]
    assert order_ids(api_url, alice) == []


def test_malformed_json_is_a_400(api_url: str, alice: SignedInUser) -> None:
    response = requests.post(
        f"{api_url}/orders",
        data=b'{"items": [',
        headers=alice.headers | {"content-type": "application/json"},
        timeout=10,
    )
    assert_problem(response, 400, "malformed-json")


def test_an_oversized_body_is_a_413(api_url: str, alice: SignedInUser) -> None:
    body = {"items": [{"productId": "usb-c-hub", "quantity": 1}], "pad": "x" * 100_000}
    assert_problem(place(api_url, alice, body), 413, "payload-too-large")
    assert order_ids(api_url, alice) == []


def test_a_wrong_method_is_a_405_listing_the_allowed_ones(
    api_url: str, alice: SignedInUser
) -> None:
    response = requests.delete(f"{api_url}/orders", headers=alice.headers, timeout=10)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, POST"


def test_the_correlation_id_is_echoed(api_url: str, alice: SignedInUser) -> None:
    response = requests.get(
        f"{api_url}/orders", headers=alice.headers | {"x-correlation-id": "trace-me-42"}, timeout=10
    )
    assert response.headers["x-correlation-id"] == "trace-me-42"
    generated = requests.get(f"{api_url}/orders", headers=alice.headers, timeout=10)
    assert generated.headers["x-correlation-id"]


# -- idempotency ------------------------------------------------------------------------------


def test_a_replay_returns_the_same_order_without_a_second_write(
    api_url: str, alice: SignedInUser
) -> None:
    key = str(uuid.uuid4())
    first = place(api_url, alice, ONE_HUB, **{"Idempotency-Key": key})
    second = place(api_url, alice, ONE_HUB, **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.json()["orderId"] == first.json()["orderId"]
    assert second.headers["idempotent-replayed"] == "true"
    assert order_ids(api_url, alice) == [first.json()["orderId"]]


def test_a_key_reused_with_another_body_is_a_409(api_url: str, alice: SignedInUser) -> None:
    key = str(uuid.uuid4())
    assert place(api_url, alice, ONE_HUB, **{"Idempotency-Key": key}).status_code == 201
    other = {"items": [{"productId": "usb-c-hub", "quantity": 3}]}
    assert_problem(place(api_url, alice, other, **{"Idempotency-Key": key}), 409, "conflict")
    assert len(order_ids(api_url, alice)) == 1


def test_keys_are_scoped_to_their_user(
    api_url: str, alice: SignedInUser, bob: SignedInUser
) -> None:
    key = str(uuid.uuid4())
    mine = place(api_url, alice, ONE_HUB, **{"Idempotency-Key": key}).json()
    theirs = place(api_url, bob, ONE_HUB, **{"Idempotency-Key": key}).json()
    assert mine["orderId"] != theirs["orderId"]


def test_twenty_concurrent_requests_with_one_key_create_one_order(
    api_url: str, alice: SignedInUser
) -> None:
    # Given twenty identical requests sharing one key, sent at once
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(
                lambda _: place(api_url, alice, ONE_HUB, **{"Idempotency-Key": key}), range(20)
            )
        )
    # Then all succeed with the same order, and exactly one order exists
    assert {r.status_code for r in responses} == {201}, [
        r.text for r in responses if r.status_code != 201
    ]
    assert len({r.json()["orderId"] for r in responses}) == 1
    assert len(order_ids(api_url, alice)) == 1


# -- reading ----------------------------------------------------------------------------------


def test_orders_list_newest_first_over_several_pages(api_url: str, alice: SignedInUser) -> None:
    placed = [place(api_url, alice).json()["orderId"] for _ in range(5)]
    first = requests.get(
        f"{api_url}/orders", params={"limit": "2"}, headers=alice.headers, timeout=10
    )
    assert len(first.json()["items"]) == 2
    assert first.json()["nextCursor"]
    assert order_ids(api_url, alice) == list(reversed(placed))


def test_another_users_order_is_a_404(api_url: str, alice: SignedInUser, bob: SignedInUser) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    # Bob can neither read nor cancel it, and cannot tell it exists
    read = requests.get(f"{api_url}/orders/{order_id}", headers=bob.headers, timeout=10)
    assert_problem(read, 404, "not-found")
    cancel = requests.patch(
        f"{api_url}/orders/{order_id}",
        json={"status": "CANCELLED"},
        headers=bob.headers,
        timeout=10,
    )
    assert_problem(cancel, 404, "not-found")
    assert order_ids(api_url, bob) == []
    mine = requests.get(f"{api_url}/orders/{order_id}", headers=alice.headers, timeout=10)
    assert mine.json()["status"] == "PENDING"


def test_a_cursor_from_another_user_is_refused(
    api_url: str, alice: SignedInUser, bob: SignedInUser
) -> None:
    for _ in range(2):
        place(api_url, alice)
    cursor = requests.get(
        f"{api_url}/orders", params={"limit": "1"}, headers=alice.headers, timeout=10
    ).json()["nextCursor"]
    stolen = requests.get(
        f"{api_url}/orders", params={"cursor": cursor}, headers=bob.headers, timeout=10
    )
    assert_problem(stolen, 400, "bad-request")


# -- status life cycle ------------------------------------------------------------------------


def patch(api_url: str, user: SignedInUser, order_id: str, **body: Any) -> requests.Response:
    return requests.patch(
        f"{api_url}/orders/{order_id}", json=body, headers=user.headers, timeout=10
    )


def test_an_order_moves_through_its_life_cycle(
    api_url: str, alice: SignedInUser, admin: SignedInUser
) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    for version, status in enumerate(("CONFIRMED", "SHIPPED", "DELIVERED"), start=2):
        response = patch(api_url, admin, order_id, status=status)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["version"]) == (status, version)
    # A delivered order is final
    assert_problem(patch(api_url, admin, order_id, status="CANCELLED"), 409, "conflict")


def test_an_owner_may_cancel_but_not_confirm(api_url: str, alice: SignedInUser) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    assert_problem(patch(api_url, alice, order_id, status="CONFIRMED"), 409, "conflict")
    cancelled = patch(api_url, alice, order_id, status="CANCELLED")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"


def test_an_illegal_transition_is_a_409(
    api_url: str, alice: SignedInUser, admin: SignedInUser
) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    assert_problem(patch(api_url, admin, order_id, status="SHIPPED"), 409, "conflict")
    assert_problem(patch(api_url, admin, order_id, status="PENDING"), 409, "conflict")


def test_a_stale_version_is_a_409_and_changes_nothing(
    api_url: str, alice: SignedInUser, admin: SignedInUser
) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    assert patch(api_url, admin, order_id, status="CONFIRMED", version=1).status_code == 200
    # A second writer still holding version 1 loses
    assert_problem(patch(api_url, alice, order_id, status="CANCELLED", version=1), 409, "conflict")
    current = requests.get(f"{api_url}/orders/{order_id}", headers=alice.headers, timeout=10).json()
    assert (current["status"], current["version"]) == ("CONFIRMED", 2)


def test_an_unknown_status_is_a_422(api_url: str, alice: SignedInUser) -> None:
    order_id = place(api_url, alice).json()["orderId"]
    problem = assert_problem(
        patch(api_url, alice, order_id, status="LOST"), 422, "validation-failed"
    )
    assert problem["invalidParams"][0]["name"] == "status"
