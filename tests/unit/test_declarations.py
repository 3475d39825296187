"""The route declaration and the functions agree: no declared route without a handler."""

from __future__ import annotations

import importlib

import pytest

from libs.resources.api_routes import ROUTES
from libs.resources.functions import FUNCTIONS


@pytest.mark.parametrize(
    "service", sorted(name for name, f in FUNCTIONS.items() if f.trigger == "http")
)
def test_every_declared_route_has_a_handler(service: str) -> None:
    module = importlib.import_module(FUNCTIONS[service].module)
    assert callable(getattr(module, FUNCTIONS[service].attribute))
    assert module.api.unregistered_routes == set()


def test_every_route_belongs_to_a_declared_function() -> None:
    assert {route.function for route in ROUTES} <= set(FUNCTIONS)


def test_route_keys_are_unique() -> None:
    keys = [route.route_key for route in ROUTES]
    assert len(keys) == len(set(keys))


def test_path_matching_extracts_parameters() -> None:
    route = next(r for r in ROUTES if r.route_key == "GET /orders/{orderId}")
    assert route.match("/orders/abc") == {"orderId": "abc"}
    assert route.match("/orders/abc/items") is None
    assert route.powertools_rule == "/orders/<orderId>"
