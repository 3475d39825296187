"""The body of PUT /users/me: what it accepts, what it rejects and which field it blames."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from libs.json_api import invalid_params
from services.users.models import UpdateProfile


def decode(body: dict[str, Any]) -> UpdateProfile:
    return msgspec.json.decode(msgspec.json.encode(body), type=UpdateProfile)


def rejected_field(body: dict[str, Any]) -> str:
    with pytest.raises(msgspec.ValidationError) as raised:
        decode(body)
    return invalid_params(raised.value)[0].name


@pytest.mark.parametrize("phone", ["+351912345678", "+12", "+123456789012345"])
def test_e164_numbers_are_accepted(phone: str) -> None:
    assert decode({"version": 0, "phone": phone}).phone == phone


@pytest.mark.parametrize(
    "phone", ["351912345678", "+0351912345678", "+1234567890123456", "+1", "+351 912", "", 351]
)
def test_other_phone_numbers_are_rejected_naming_phone(phone: Any) -> None:
    assert rejected_field({"version": 0, "phone": phone}) == "phone"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 0, "nickname": "x"}, "nickname"),
        ({"version": 0, "preferences": {"push": True}}, "preferences.push"),
        ({"version": 0, "preferences": {"email": "yes"}}, "preferences.email"),
        ({"version": 0, "preferences": None}, "preferences"),
        (
            {"version": 0, "address": {"line1": "x", "city": "y", "postalCode": "z"}},
            "address.country",
        ),
        (
            {
                "version": 0,
                "address": {"line1": "x", "city": "y", "postalCode": "z", "country": "pt"},
            },
            "address.country",
        ),
        ({"version": 0, "name": ""}, "name"),
        ({"version": 0, "name": "x" * 101}, "name"),
        ({"name": "Ada"}, "version"),
        ({"version": -1}, "version"),
    ],
)
def test_invalid_bodies_name_the_field(body: dict[str, Any], field: str) -> None:
    assert rejected_field(body) == field


def test_absent_fields_are_unset_and_null_ones_are_cleared() -> None:
    change = decode({"version": 2, "phone": None, "preferences": {"sms": True}})
    assert change.phone is None
    assert change.name is msgspec.UNSET
    assert change.address is msgspec.UNSET
    assert msgspec.to_builtins(change) == {
        "version": 2,
        "phone": None,
        "preferences": {"sms": True},
    }
