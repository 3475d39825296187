"""Each item kind's keys: the builders follow the declared shapes, and docs/data.md states them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from libs import table_keys
from libs.resources.table import MAIN_TABLE

DATA_DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
# A placeholder of a shape, e.g. <userId>.
PLACEHOLDER = re.compile(r"<[^>]+>")

# Each kind's key builders, called with sample values in the shape's placeholder order.
BUILT = {
    "Product": table_keys.product_key("p-1")
    | table_keys.category_keys("books", "p-1")
    | table_keys.catalog_keys("p-1"),
    "Order": table_keys.order_key("o-1")
    | table_keys.user_orders_keys("u-1", "2026-12-03T10:00:00Z", "o-1"),
    "Profile": table_keys.profile_key("u-1"),
    "IdempotencyRecord": table_keys.idempotency_key("u-1", "k-1"),
    "OutboxEvent": table_keys.outbox_key("e-1"),
    "ProcessedMarker": table_keys.marker_key("e-1"),
    "Notification": table_keys.notification_key("u-1", "2026-12-03T10:00:00Z", "e-1"),
}
ATTRIBUTES = (
    table_keys.PK,
    table_keys.SK,
    table_keys.GSI1PK,
    table_keys.GSI1SK,
    table_keys.GSI2PK,
    table_keys.GSI2SK,
)


def documented_shapes() -> dict[str, tuple[str, ...]]:
    """The item-kinds table of docs/data.md: entity → PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK."""
    shapes: dict[str, tuple[str, ...]] = {}
    for line in DATA_DOC.read_text().splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] not in table_keys.KEY_SHAPES:
            continue
        gsi1 = [part.strip().strip("`") for part in cells[3].split(" / ")] if cells[3] else []
        gsi2 = [part.strip().strip("`") for part in cells[4].split(" / ")] if cells[4] else []
        shapes[cells[0]] = (cells[1], cells[2], *(gsi1 or ["", ""]), *(gsi2 or ["", ""]))
    return shapes


@pytest.mark.parametrize("entity", sorted(table_keys.KEY_SHAPES))
def test_each_builder_makes_the_declared_shape(entity: str) -> None:
    # Given a kind's declared shapes and the keys its builders make
    shapes = table_keys.KEY_SHAPES[entity]
    built = BUILT[entity]
    # Then every declared key is built, to a value of its shape, and no other key is
    for attribute, shape in zip(ATTRIBUTES, shapes, strict=True):
        if not shape:
            assert attribute not in built
            continue
        pattern = "^" + PLACEHOLDER.sub(".+", re.escape(shape).replace(r"\<", "<")) + "$"
        assert re.match(pattern, built[attribute]), (attribute, shape, built[attribute])


def test_every_declared_kind_has_its_shape_and_the_doc_states_it() -> None:
    # Given the kinds the table declares, and the docs' item-kinds table
    declared = {lifetime.entity for lifetime in MAIN_TABLE.lifetimes}
    # Then each has its key shapes here, exactly as docs/data.md shows them
    assert declared == set(table_keys.KEY_SHAPES)
    assert documented_shapes() == table_keys.KEY_SHAPES
