"""The catalog over HTTP through the local gateway."""

from __future__ import annotations

import requests

from services.products.seed import CATALOG
from tests.accounts import SignedInUser

PROBLEM = "application/problem+json"


def test_the_whole_catalog_pages_through_every_product_once(api_url: str) -> None:
    # Given the seeded catalog
    seeded = {p.product_id for p in CATALOG}
    seen: list[str] = []
    cursor = None
    pages = 0
    # When a client follows nextCursor five products at a time
    while True:
        params = {"limit": "5"} | ({"cursor": cursor} if cursor else {})
        response = requests.get(f"{api_url}/products", params=params, timeout=10)
        assert response.status_code == 200
        body = response.json()
        seen += [item["productId"] for item in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    # Then it sees every seeded product exactly once, over several pages
    assert seeded <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3


def test_a_category_lists_only_its_products(api_url: str) -> None:
    response = requests.get(f"{api_url}/products", params={"category": "books"}, timeout=10)
    assert response.status_code == 200
    items = response.json()["items"]
    assert {i["category"] for i in items} == {"books"}
    expected = {p.product_id for p in CATALOG if p.category == "books"}
    assert expected <= {i["productId"] for i in items}


def test_a_product_has_the_documented_wire_shape(api_url: str) -> None:
    response = requests.get(f"{api_url}/products/usb-c-hub", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "productId": "usb-c-hub",
        "name": "USB-C hub",
        "description": "Seven ports, 100 W passthrough.",
        "category": "electronics",
        "price": 3450,
        "currency": "EUR",
    }


def test_an_unknown_product_is_a_404_problem(api_url: str) -> None:
    response = requests.get(f"{api_url}/products/no-such-thing", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")


def test_a_bad_limit_is_a_422_naming_it(api_url: str) -> None:
    response = requests.get(f"{api_url}/products", params={"limit": "1000"}, timeout=10)
    assert response.status_code == 422
    assert response.json()["invalidParams"][0]["name"] == "limit"


def test_only_admins_create_products(
    api_url: str, alice: SignedInUser, admin: SignedInUser
) -> None:
    product = {"name": "Desk mat", "category": "office", "price": 1999, "currency": "EUR"}
    # Given a customer, when they create a product, then it is forbidden
    denied = requests.post(f"{api_url}/products", json=product, headers=alice.headers, timeout=10)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == PROBLEM
    # Given an admin, when they create it, then it is stored and listed under its category
    created = requests.post(f"{api_url}/products", json=product, headers=admin.headers, timeout=10)
    assert created.status_code == 201
    product_id = created.json()["productId"]
    fetched = requests.get(f"{api_url}/products/{product_id}", timeout=10)
    assert fetched.json()["name"] == "Desk mat"
    # And an admin may replace it; a customer may not
    changed = product | {"price": 2499}
    url = f"{api_url}/products/{product_id}"
    assert requests.put(url, json=changed, headers=alice.headers, timeout=10).status_code == 403
    replaced = requests.put(url, json=changed, headers=admin.headers, timeout=10)
    assert replaced.status_code == 200
    assert requests.get(url, timeout=10).json()["price"] == 2499


def test_creating_a_product_needs_a_token(api_url: str) -> None:
    response = requests.post(f"{api_url}/products", json={}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_replacing_a_missing_product_is_a_404(api_url: str, admin: SignedInUser) -> None:
    product = {"name": "Ghost", "category": "office", "price": 1, "currency": "EUR"}
    response = requests.put(
        f"{api_url}/products/not-there", json=product, headers=admin.headers, timeout=10
    )
    assert response.status_code == 404
