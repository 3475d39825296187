"""Item codecs and page cursors of the single-table helpers."""

from __future__ import annotations

import msgspec
import pytest

from libs.problems import BadRequest
from libs.resources.table import MAIN_TABLE
from libs.single_table import (
    Item,
    _page,
    decode_cursor,
    encode_cursor,
    from_item,
    key_names,
    kind_attributes,
    to_attribute,
    to_item,
)


class Sample(msgspec.Struct, rename="camel"):
    sample_id: str
    count: int
    ratio: float
    active: bool
    tags: list[str]
    nested: dict[str, int]
    note: str | None = None


def test_a_struct_round_trips_through_a_dynamodb_item() -> None:
    # Given a record with every supported kind of value
    record = Sample("s-1", 3, 0.5, True, ["a", "b"], {"x": -2})
    # When it becomes an item and back
    item = to_item(record, PK="SAMPLE#s-1", SK="INFO", entity="Product")
    # Then the item is typed as DynamoDB wants it, keys included, None left out
    assert item["PK"] == {"S": "SAMPLE#s-1"}
    assert item["count"] == {"N": "3"}
    assert item["active"] == {"BOOL": True}
    assert item["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}
    assert item["nested"] == {"M": {"x": {"N": "-2"}}}
    assert "note" not in item
    # And decoding gives the same record, key attributes ignored
    assert from_item(item, Sample) == record


def test_an_item_of_a_kept_kind_has_no_expiry() -> None:
    # Given a record of a kind declared as kept (products)
    record = Sample("s-1", 3, 0.5, True, [], {})
    # When it becomes an item
    item = to_item(record, PK="SAMPLE#s-1", SK="INFO", entity="Product")
    # Then it names its kind and carries no TTL attribute
    assert item["entity"] == {"S": "Product"}
    assert MAIN_TABLE.ttl_attribute not in item


@pytest.mark.parametrize(
    ("entity", "seconds"),
    [
        ("IdempotencyRecord", 24 * 3600),
        ("OutboxEvent", 24 * 3600),
        ("ProcessedMarker", 15 * 24 * 3600),
        ("Notification", 180 * 24 * 3600),
    ],
)
def test_an_item_of_an_expiring_kind_expires_its_declared_lifetime_after_writing(
    entity: str, seconds: int
) -> None:
    # When an item of an expiring kind is made at a known time
    attributes = kind_attributes(entity, now=1_000_000.7)
    # Then its TTL attribute is that time plus the kind's lifetime, in whole epoch seconds
    assert attributes == {
        "entity": {"S": entity},
        MAIN_TABLE.ttl_attribute: {"N": str(1_000_000 + seconds)},
    }


def test_a_kind_without_a_declared_lifetime_cannot_be_written() -> None:
    with pytest.raises(KeyError, match="Basket"):
        kind_attributes("Basket")


def test_bool_is_not_stored_as_a_number() -> None:
    assert to_attribute(False) == {"BOOL": False}
    assert to_attribute(0) == {"N": "0"}


def test_a_decoded_item_is_validated() -> None:
    # Given an item whose count is a string
    item = {"sampleId": {"S": "s"}, "count": {"S": "three"}}
    # Then decoding it as Sample fails loudly instead of returning bad data
    with pytest.raises(msgspec.ValidationError):
        from_item(item, Sample)


def test_a_cursor_round_trips_and_is_opaque() -> None:
    key = {
        "PK": {"S": "ORDER#1"},
        "SK": {"S": "DETAILS"},
        "GSI1PK": {"S": "USER#u"},
        "GSI1SK": {"S": "ORDER#t#1"},
    }
    cursor = encode_cursor(key)
    assert "ORDER" not in cursor
    assert decode_cursor(cursor, key_names("GSI1"), {"GSI1PK": "USER#u"}) == key


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        encode_cursor({"PK": {"S": "x"}}),
        encode_cursor({"PK": {"N": "1"}, "SK": {"S": "y"}}),
    ],
)
def test_a_malformed_cursor_is_a_400(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor, key_names(), {})


def test_a_cursor_cannot_move_a_query_to_another_partition() -> None:
    # Given a cursor from user a's listing
    key = {
        "PK": {"S": "ORDER#1"},
        "SK": {"S": "DETAILS"},
        "GSI1PK": {"S": "USER#a"},
        "GSI1SK": {"S": "ORDER#t#1"},
    }
    cursor = encode_cursor(key)
    # When user b presents it, then it is refused
    with pytest.raises(BadRequest):
        decode_cursor(cursor, key_names("GSI1"), {"GSI1PK": "USER#b"})


def test_a_page_has_a_cursor_only_when_more_items_exist() -> None:
    items: list[Item] = [{"PK": {"S": f"P#{i}"}, "SK": {"S": "INFO"}} for i in range(3)]
    # One extra item was read: there is a next page, starting after the last returned item
    full = _page(items, 2, key_names())
    assert len(full.items) == 2
    assert full.next_cursor is not None
    assert decode_cursor(full.next_cursor, key_names(), {}) == items[1]
    # No extra item: this is the last page
    assert _page(items, 3, key_names()).next_cursor is None
