"""Wire shapes of the auth routes: request bodies (strict, bounded) and token responses."""

from __future__ import annotations

from typing import Annotated

import msgspec

from libs import json_patterns
from libs.resources.user_pool import MAXIMUM_PASSWORD_LENGTH, USER_POOL

# Cognito's Username is at most 128 characters (its API model), and the email is the username
# here: a longer address could never register, so it is refused as invalid input instead.
Email = Annotated[str, msgspec.Meta(min_length=6, max_length=128, pattern=json_patterns.EMAIL)]
# Cognito's password limit; the policy's own rules are checked separately, to name what is unmet.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAXIMUM_PASSWORD_LENGTH)]
# A password being set: its schema states the pool's policy (length and pattern), derived from
# the one declaration. Decoding checks Cognito's limit only: the policy check
# (accounts.check_password, same rules) refuses a weak password with a 422 naming every unmet
# rule, where msgspec's own refusal would name the first alone.
_POLICY = USER_POOL.password_policy
NewPassword = Annotated[
    str,
    msgspec.Meta(
        max_length=MAXIMUM_PASSWORD_LENGTH,
        description=_POLICY.description(),
        extra_json_schema={"minLength": _POLICY.minimum_length, "pattern": _POLICY.pattern()},
    ),
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=json_patterns.CODE)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=json_patterns.NOT_BLANK)]
# Cognito's refresh tokens are encrypted JWTs of about 1,800 characters.
RefreshToken = Annotated[
    str, msgspec.Meta(min_length=1, max_length=8192, pattern=json_patterns.TOKEN)
]


class _Request(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A request body naming an account by email, which is normalised to lower case."""

    email: Email

    def __post_init__(self) -> None:
        self.email = self.email.lower()


class Register(_Request, kw_only=True):
    """The body of POST /auth/register."""

    password: NewPassword
    name: Name


class Confirm(_Request, kw_only=True):
    """The body of POST /auth/confirm: the code Cognito sent to the email."""

    code: Code


class LogIn(_Request, kw_only=True):
    """The body of POST /auth/login."""

    password: Password


class ForgotPassword(_Request, kw_only=True):
    """The body of POST /auth/forgot-password."""


class ResetPassword(_Request, kw_only=True):
    """The body of POST /auth/reset-password: the emailed code and the new password."""

    code: Code
    new_password: NewPassword


class Refresh(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The body of POST /auth/refresh."""

    refresh_token: RefreshToken


class Registered(msgspec.Struct, rename="camel", kw_only=True):
    """The answer to a registration: the new user's id and whether it needs confirming."""

    user_id: str
    confirmed: bool


class Tokens(msgspec.Struct, rename="camel", kw_only=True):
    """The tokens of a login."""

    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int
    token_type: str


class RefreshedTokens(msgspec.Struct, rename="camel", kw_only=True):
    """New access and id tokens; the refresh token that made them stays valid."""

    access_token: str
    id_token: str
    expires_in: int
    token_type: str
