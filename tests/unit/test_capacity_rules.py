"""DynamoDB's capacity rules as the emulator applies them: item sizes, rounding, consistency,
transactions and index writes."""

from __future__ import annotations

import pytest

from emulator.moto_capacity import (
    index_write_units,
    item_size,
    item_write_units,
    number_size,
    read_units,
    value_size,
    write_units,
)

GSI1 = ("GSI1PK", "GSI1SK")


def test_an_item_counts_its_attribute_names_and_values() -> None:
    # Given an item of strings, a number, a boolean and a null
    item = {
        "PK": {"S": "USER#é"},  # é is two bytes in UTF-8
        "price": {"N": "1234.50"},
        "active": {"BOOL": True},
        "note": {"NULL": True},
    }
    # When its size is computed
    size = item_size(item)
    # Then names and values add up: 2+7, 5+3 (digits 12345: three bytes, plus one), 6+1, 4+1
    assert size == (2 + 7) + (5 + 4) + (6 + 1) + (4 + 1)


@pytest.mark.parametrize(
    ("number", "size"),
    [("0", 2), ("7", 2), ("10", 2), ("100000", 2), ("123", 3), ("0.001", 2), ("-12345.678", 5)],
)
def test_a_number_takes_a_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_size(number) == size


def test_lists_and_maps_take_three_bytes_and_one_per_element() -> None:
    # Given a map holding a list of two strings
    value = {"M": {"tags": {"L": [{"S": "ab"}, {"S": "cde"}]}}}
    # When its size is computed
    size = value_size(value)
    # Then: map 3 + (1 + "tags" 4 + list (3 + (1 + 2) + (1 + 3)))
    assert size == 3 + 1 + 4 + (3 + 3 + 4)


def test_binary_values_count_their_decoded_bytes() -> None:
    assert value_size({"B": "AAECAwQ="}) == 5  # base64 of five bytes


def test_reads_round_up_to_4_kb_and_eventually_consistent_reads_cost_half() -> None:
    assert read_units(1, consistent=True) == 1.0
    assert read_units(4096, consistent=True) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(4097, consistent=False) == 1.0
    assert read_units(0, consistent=False) == 0.5  # a miss still reads


def test_transactional_reads_cost_twice_a_consistent_read() -> None:
    assert read_units(5000, consistent=True, transactional=True) == 4.0


def test_writes_round_up_to_1_kb_and_transactions_double_them() -> None:
    assert write_units(10) == 1.0
    assert write_units(1024) == 1.0
    assert write_units(1025) == 2.0
    assert write_units(1025, transactional=True) == 4.0


def test_an_update_pays_for_the_larger_of_the_item_before_and_after() -> None:
    # Given an item of ~1.5 KB shrunk to a few bytes
    before = {"PK": {"S": "A"}, "blob": {"S": "x" * 1500}}
    after = {"PK": {"S": "A"}}
    # When the write is counted, with no index involved
    units = item_write_units(before, after, [GSI1])
    # Then the larger image sets the units
    assert units == 2.0


def test_an_item_entering_an_index_is_one_more_write_and_a_moved_key_two() -> None:
    base = {"PK": {"S": "ORDER#1"}, "SK": {"S": "DETAILS"}}
    indexed = {**base, "GSI1PK": {"S": "USER#1"}, "GSI1SK": {"S": "ORDER#a"}}
    moved = {**indexed, "GSI1SK": {"S": "ORDER#b"}}
    changed = {**indexed, "status": {"S": "PAID"}}
    # Enters the index: a put there
    assert index_write_units(None, indexed, [GSI1]) == 1.0
    # Leaves it: a delete there
    assert index_write_units(indexed, base, [GSI1]) == 1.0
    # Its index key changes: a delete and a put
    assert index_write_units(indexed, moved, [GSI1]) == 2.0
    # Changes while it stays (all attributes projected): a rewrite
    assert index_write_units(indexed, changed, [GSI1]) == 1.0
    # Not in the index before or after, or unchanged: nothing
    assert index_write_units(base, base, [GSI1]) == 0.0
    assert index_write_units(indexed, indexed, [GSI1]) == 0.0


def test_a_transactional_put_doubles_the_table_write_but_not_the_index_write() -> None:
    item = {"PK": {"S": "ORDER#1"}, "GSI1PK": {"S": "U"}, "GSI1SK": {"S": "O"}}
    assert item_write_units(None, item, [GSI1], transactional=True) == 2.0 + 1.0
