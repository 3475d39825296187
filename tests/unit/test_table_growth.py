"""Item sizes by DynamoDB's rules, as the table growth measurement counts them."""

from __future__ import annotations

from typing import Any

from bench.table_growth import indexes_of, item_size


def test_strings_and_numbers_count_name_and_value_bytes() -> None:
    # Given a string (UTF-8 bytes) and numbers (1 byte per 2 significant digits, plus 1)
    item = {"PK": {"S": "ab"}, "n": {"N": "12345"}, "z": {"N": "1000"}, "é": {"S": "é"}}
    # Then the size is the names' and values' bytes
    assert item_size(item) == (2 + 2) + (1 + 3 + 1) + (1 + 1 + 1) + (2 + 2)


def test_maps_and_lists_add_three_bytes_and_one_per_element() -> None:
    item: dict[str, dict[str, Any]] = {
        "m": {"M": {"a": {"N": "1"}, "b": {"BOOL": True}}},
        "l": {"L": [{"S": "xy"}]},
        "e": {"L": []},
    }
    assert item_size(item) == (1 + 3 + (1 + 2 + 1) + (1 + 1 + 1)) + (1 + 3 + (2 + 1)) + (1 + 3)


def test_an_item_is_copied_into_each_index_whose_partition_key_it_has() -> None:
    assert indexes_of({"PK": {"S": "p"}, "GSI2PK": {"S": "PRODUCTS"}}) == ["GSI2"]
    assert indexes_of({"PK": {"S": "p"}}) == []
