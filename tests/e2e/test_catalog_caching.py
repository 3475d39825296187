"""The catalog's cache headers over HTTP: ETag, Cache-Control, 304 on If-None-Match."""

from __future__ import annotations

import uuid

import pytest
import requests

from libs.resources.caching import CATALOG_CACHE
from tests.accounts import SignedInUser

CATALOG_READS = ("/products?category=books", "/products/usb-c-hub")


@pytest.mark.parametrize("path", CATALOG_READS)
def test_a_catalog_read_carries_an_etag_and_the_declared_cache_control(
    api_url: str, path: str
) -> None:
    # When anyone reads the catalog
    response = requests.get(f"{api_url}{path}", timeout=10)
    # Then the answer says how long it may be kept, and names its version
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == CATALOG_CACHE.cache_control
    assert response.headers["ETag"].startswith('"')
    # And reading it again unchanged gives the same tag
    again = requests.get(f"{api_url}{path}", timeout=10)
    assert again.headers["ETag"] == response.headers["ETag"]


@pytest.mark.parametrize("path", CATALOG_READS)
def test_revalidating_with_the_current_etag_is_a_304_without_a_body(
    api_url: str, path: str
) -> None:
    # Given a client holding a catalog answer
    held = requests.get(f"{api_url}{path}", timeout=10)
    etag = held.headers["ETag"]
    # When it revalidates with that tag (alone, weakened by a cache, or in a list)
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = requests.get(
            f"{api_url}{path}", headers={"If-None-Match": if_none_match}, timeout=10
        )
        # Then it is told its copy is current, without the body, with the headers refreshed
        assert response.status_code == 304, if_none_match
        assert response.content == b""
        assert "Content-Type" not in response.headers
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == CATALOG_CACHE.cache_control
        assert "x-correlation-id" in response.headers


@pytest.mark.parametrize("if_none_match", ['"not-the-current-one"', "garbage", 'W/"x" "y"'])
def test_a_stale_or_malformed_if_none_match_gets_the_full_answer(
    api_url: str, if_none_match: str
) -> None:
    response = requests.get(
        f"{api_url}/products/usb-c-hub", headers={"If-None-Match": if_none_match}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["productId"] == "usb-c-hub"
    assert "ETag" in response.headers


def test_an_admin_write_changes_the_etag_of_the_product_and_of_its_list(
    api_url: str, admin: SignedInUser
) -> None:
    # Given a product in a category of its own, and the tags a client holds for both reads
    category = f"cache-{uuid.uuid4().hex[:8]}"
    product = {"name": "Desk mat", "category": category, "price": 1999, "currency": "EUR"}
    created = requests.post(f"{api_url}/products", json=product, headers=admin.headers, timeout=10)
    assert created.status_code == 201
    product_url = f"{api_url}/products/{created.json()['productId']}"
    list_url = f"{api_url}/products?category={category}"
    held = {url: requests.get(url, timeout=10).headers["ETag"] for url in (product_url, list_url)}
    # When an admin replaces the product
    replaced = requests.put(
        product_url, json=product | {"price": 2499}, headers=admin.headers, timeout=10
    )
    assert replaced.status_code == 200
    # Then revalidating either read with the old tag gets the new answer under a new tag
    for url, etag in held.items():
        response = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
        assert response.status_code == 200
        assert response.headers["ETag"] != etag
        assert "2499" in response.text


def test_an_unknown_product_is_a_404_that_no_cache_keeps(api_url: str) -> None:
    response = requests.get(
        f"{api_url}/products/no-such-thing", headers={"If-None-Match": "*"}, timeout=10
    )
    assert response.status_code == 404
    assert "ETag" not in response.headers
    assert "Cache-Control" not in response.headers


def test_authenticated_and_write_routes_carry_no_caching_headers(
    api_url: str, alice: SignedInUser, admin: SignedInUser
) -> None:
    # Given answers that depend on the caller or change the catalog
    answers = [
        requests.get(f"{api_url}{path}", headers=alice.headers, timeout=10)
        for path in ("/orders", "/users/me", "/notifications")
    ]
    product = {"name": "Pen", "category": "office", "price": 199, "currency": "EUR"}
    answers.append(
        requests.post(f"{api_url}/products", json=product, headers=admin.headers, timeout=10)
    )
    # Then none of them offers itself to a cache
    for response in answers:
        assert response.ok, response.url
        assert "ETag" not in response.headers, response.url
        assert "Cache-Control" not in response.headers, response.url
