"""The declared patterns mean the same to msgspec (Python's re) and to the document's readers."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
import pytest

from libs import json_patterns
from libs.resources.user_pool import USER_POOL

SAMPLES = {
    "PRODUCT_ID": "usb-c-hub",
    "CATEGORY": "books",
    "CURRENCY": "EUR",
    "COUNTRY": "GB",
    "PHONE": "+447700900123",
    "EMAIL": "ada.lovelace+shop@mail.example.com",
    "CODE": "123456",
    "TOKEN": "eyJhbGciOi.J9.x-y_z",
    "IDEMPOTENCY_KEY": "order-2026-03-14",
    "CORRELATION_ID": "req:42.a_b-c",
    "DECIMAL_DIGITS": "30",
    "CURSOR": "eyJQSyI6eyJTIjoiUCJ9fQ",
}
DECLARED = {
    name: value
    for name, value in vars(json_patterns).items()
    if name.isupper() and isinstance(value, str) and value.startswith("^")
}


def test_every_whole_value_pattern_has_a_sample() -> None:
    assert set(DECLARED) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_value_matches_and_the_same_value_with_a_final_line_break_does_not(name: str) -> None:
    # Given a declared pattern as msgspec checks it
    checked = Annotated[str, msgspec.Meta(pattern=DECLARED[name])]
    # Then a valid value passes, and the same with a final line break (which Python's `$`
    # would let through, ECMA-262's not) is refused
    assert msgspec.convert(SAMPLES[name], checked) == SAMPLES[name]
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(SAMPLES[name] + "\n", checked)


@pytest.mark.parametrize(
    "pattern", [*DECLARED.values(), USER_POOL.password_policy.pattern()], ids=str
)
def test_no_pattern_uses_a_shorthand_class_the_dialects_read_differently(pattern: str) -> None:
    # `[\s\S]` (any character) means the same in both; \d, \w, \s alone do not
    assert not re.search(r"\\[dwsDWS]", pattern.replace(r"[\s\S]", ""))


@pytest.mark.parametrize(
    "email", ["ada@example", ".ada@example.com", "ada@-x.com", "ada@exa mple.com", "ädä@x.com"]
)
def test_an_address_cognito_would_not_take_as_a_username_is_refused(email: str) -> None:
    assert re.search(json_patterns.EMAIL, email) is None
