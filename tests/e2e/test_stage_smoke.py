"""Checks that hold on any stage, however old or new its data: run after every deploy.

Together with the tests marked ``smoke`` elsewhere they reach every function behind the
authorizer once, with a user made for the run and deleted after it.
"""

from __future__ import annotations

import pytest
import requests

from tests.accounts import SignedInUser

pytestmark = pytest.mark.smoke


def test_a_new_user_has_no_orders_yet(api_url: str, alice: SignedInUser) -> None:
    # When a user made for this run lists their orders
    response = requests.get(f"{api_url}/orders", headers=alice.headers, timeout=10)
    # Then the orders function answers from the table's index: an empty first page
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_a_new_user_has_no_notifications_yet(api_url: str, alice: SignedInUser) -> None:
    response = requests.get(f"{api_url}/notifications", headers=alice.headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_an_unknown_product_is_a_problem_from_the_products_function(api_url: str) -> None:
    response = requests.get(f"{api_url}/products/no-such-product-smoke", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
