"""Order rules that need no AWS: the status life cycle and request fingerprints."""

from __future__ import annotations

import msgspec

from services.orders.models import PlaceOrder
from services.orders.ordering import TRANSITIONS, request_fingerprint


def test_the_life_cycle_is_the_declared_one() -> None:
    reachable = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert reachable == {
        ("PENDING", "CONFIRMED"),
        ("CONFIRMED", "SHIPPED"),
        ("SHIPPED", "DELIVERED"),
        ("PENDING", "CANCELLED"),
        ("CONFIRMED", "CANCELLED"),
    }


def test_final_states_lead_nowhere() -> None:
    assert not TRANSITIONS["DELIVERED"]
    assert not TRANSITIONS["CANCELLED"]


def test_fingerprints_ignore_formatting_but_not_content() -> None:
    def parse(body: str) -> PlaceOrder:
        return msgspec.json.decode(body, type=PlaceOrder)

    a = parse('{"items":[{"productId":"p","quantity":1}]}')
    b = parse('{ "items" : [ { "quantity": 1, "productId": "p" } ] }')
    c = parse('{"items":[{"productId":"p","quantity":2}]}')
    assert request_fingerprint(a) == request_fingerprint(b)
    assert request_fingerprint(a) != request_fingerprint(c)
