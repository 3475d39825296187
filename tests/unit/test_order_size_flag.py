"""The ``orders`` feature flag's line limit, applied when an order is placed (422 naming items)."""

from __future__ import annotations

import pytest

from libs.problems import ValidationFailed
from libs.resources.feature_flags import FLAGS_BY_ENVIRONMENT, OrderFlags
from services.orders.models import LineRequest, PlaceOrder
from services.orders.ordering import DEFAULT_FLAGS, check_order_size


def an_order_of(lines: int) -> PlaceOrder:
    return PlaceOrder(items=[LineRequest(product_id=f"p-{n}", quantity=1) for n in range(lines)])


def test_the_declared_defaults_allow_as_many_lines_as_the_schema() -> None:
    # Given the defaults (no AppConfig, as locally), When an order has the schema's 50 lines
    # Then it passes
    check_order_size(an_order_of(50), DEFAULT_FLAGS)


def test_a_lower_flag_value_refuses_an_order_the_defaults_accept() -> None:
    # Given prod's flag value, lower than the default
    prod = FLAGS_BY_ENVIRONMENT["prod"].orders
    assert prod.max_items_per_order < DEFAULT_FLAGS.max_items_per_order
    order = an_order_of(prod.max_items_per_order + 1)
    check_order_size(order, DEFAULT_FLAGS)
    # When the same order meets it, Then it is refused with a 422 naming the items
    with pytest.raises(ValidationFailed) as refused:
        check_order_size(order, prod)
    (param,) = refused.value.invalid_params or []
    assert param.name == "items"
    assert str(prod.max_items_per_order) in (refused.value.detail or "")


def test_an_order_at_the_flags_limit_passes() -> None:
    check_order_size(an_order_of(2), OrderFlags(max_items_per_order=2))
