"""Auth request bodies: strict, bounded, emails normalised; passwords checked against the policy."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from libs.problems import Unauthorized, ValidationFailed
from libs.resources.user_pool import MAXIMUM_PASSWORD_LENGTH, USER_POOL, PasswordPolicy
from services.auth.accounts import bearer_token, check_password
from services.auth.models import ForgotPassword, LogIn, Refresh, Register, ResetPassword

GOOD = {"email": "ada@example.com", "password": "Correct-Horse-7", "name": "Ada"}


def decode(model: type[Any], body: dict[str, Any]) -> Any:
    return msgspec.json.decode(msgspec.json.encode(body), type=model)


def test_an_email_is_normalised_to_lower_case() -> None:
    assert decode(Register, GOOD | {"email": "Ada.Lovelace@Example.COM"}).email == (
        "ada.lovelace@example.com"
    )
    assert decode(ForgotPassword, {"email": "ADA@EXAMPLE.COM"}).email == "ada@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "ada@example",
        "ada @example.com",
        "ada@exa@mple.com",
        "",
        f"{'a' * 120}@example.com",  # longer than a Cognito username may be
    ],
)
def test_an_invalid_email_is_refused_at_its_field(email: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.email`"):
        decode(Register, GOOD | {"email": email})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (GOOD | {"admin": True}, "admin"),
        (GOOD | {"name": "   "}, "name"),
        (GOOD | {"name": "x" * 201}, "name"),
        (GOOD | {"password": "A1" + "a" * 255}, "password"),
        ({"email": "ada@example.com"}, "password"),
    ],
)
def test_a_registration_breaking_the_schema_names_the_field(
    body: dict[str, Any], field: str
) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        decode(Register, body)


def test_wire_names_are_camel_case() -> None:
    reset = decode(
        ResetPassword, {"email": "a@b.co", "code": "123456", "newPassword": "Correct-Horse-7"}
    )
    assert reset.new_password == "Correct-Horse-7"
    assert decode(Refresh, {"refreshToken": "abc"}).refresh_token == "abc"
    with pytest.raises(msgspec.ValidationError, match="new_password"):
        decode(ResetPassword, {"email": "a@b.co", "code": "1", "new_password": "x"})


def test_a_login_accepts_any_password_shape_the_policy_would_refuse() -> None:
    # A login is never refused by the policy: it may have changed since the password was set.
    assert decode(LogIn, {"email": "a@b.co", "password": "weak"}).password == "weak"


def test_a_password_meeting_the_policy_passes() -> None:
    check_password("password", "Correct-Horse-7")


@pytest.mark.parametrize(
    ("policy", "description"),
    [
        (
            PasswordPolicy(),
            "At least 8 characters, with an uppercase letter, a lowercase letter and a digit",
        ),
        (
            PasswordPolicy(minimum_length=12, require_lowercase=False, require_symbols=True),
            "At least 12 characters, with an uppercase letter, a digit and a symbol",
        ),
        (
            PasswordPolicy(require_uppercase=False, require_lowercase=False),
            "At least 8 characters, with a digit",
        ),
        (
            PasswordPolicy(require_uppercase=False, require_lowercase=False, require_digits=False),
            "At least 8 characters",
        ),
    ],
)
def test_a_policy_describes_its_rules_in_the_words_of_a_refusal(
    policy: PasswordPolicy, description: str
) -> None:
    # The documented description and the 422's reason name a rule alike
    assert policy.description() == description
    assert set(policy.unmet_rules("")) == {f"at least {policy.minimum_length} characters"} | set(
        policy.required_classes()
    )


@pytest.mark.parametrize(
    ("password", "unmet"),
    [
        ("Sh0rt", "at least 8 characters"),
        ("alllowercase1", "an uppercase letter"),
        ("ALLUPPERCASE1", "a lowercase letter"),
        ("NoDigitsHere", "a digit"),
    ],
)
def test_a_password_breaking_the_policy_is_a_422_naming_the_rule(password: str, unmet: str) -> None:
    assert unmet in USER_POOL.password_policy.unmet_rules(password)  # the one declaration
    with pytest.raises(ValidationFailed) as raised:
        check_password("newPassword", password)
    assert raised.value.invalid_params is not None
    [param] = raised.value.invalid_params
    assert param.name == "newPassword"
    assert unmet in param.reason


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("abc.def.ghi", "abc.def.ghi"),
        ("  Bearer   abc.def.ghi  ", "abc.def.ghi"),
    ],
)
def test_the_access_token_is_taken_with_or_without_the_bearer_scheme(
    header: str, token: str
) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic a b"])
def test_a_missing_access_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token(header)


@pytest.mark.parametrize(
    "policy",
    [
        PasswordPolicy(),
        PasswordPolicy(minimum_length=12, require_lowercase=False, require_symbols=True),
        PasswordPolicy(require_uppercase=False, require_lowercase=False, require_digits=False),
    ],
)
@pytest.mark.parametrize(
    "password",
    [
        "Correct-Horse-7",
        "alllowercase1",
        "ALLUPPERCASE1",
        "NoDigitsHere",
        "ÄÖÜäöü١٢٣",
        "Aa1 !",
        "\nA\na\n1",
    ],
)
def test_the_documented_pattern_refuses_exactly_what_the_policy_check_refuses(
    policy: PasswordPolicy, password: str
) -> None:
    # Given the policy's pattern (the document's) and its named rules (the 422's)
    classes_met = re.search(policy.pattern(), password) is not None
    # Then a password meets the pattern exactly when no character class rule is unmet
    unmet = set(policy.unmet_rules(password)) - {f"at least {policy.minimum_length} characters"}
    assert classes_met == (not unmet)


def test_the_document_states_the_password_policy_as_a_checkable_pattern() -> None:
    schema = msgspec.json.schema(Register)["$defs"]["Register"]["properties"]["password"]
    policy = USER_POOL.password_policy
    assert schema["pattern"] == policy.pattern()
    assert schema["minLength"] == policy.minimum_length
    assert schema["maxLength"] == MAXIMUM_PASSWORD_LENGTH
