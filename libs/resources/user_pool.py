"""The Cognito user pool and its app client."""

from __future__ import annotations

import re
from typing import Final

import msgspec

from libs.json_patterns import requiring

# The symbols Cognito counts for RequireSymbols (its documentation lists them), as a class.
COGNITO_SYMBOLS: Final = r"""[\^$*.\[\]{}()?"!@#%&/\\,><':;|_~`=+ -]"""
# Cognito's limit on any password, whatever the policy (its API model's maximum).
MAXIMUM_PASSWORD_LENGTH: Final = 256


class PasswordPolicy(msgspec.Struct, frozen=True):
    """Cognito's password rules, also used to explain a rejected password and to document one."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_digits: bool = True
    require_symbols: bool = False

    def required_classes(self) -> list[str]:
        """The character classes a password needs, named as ``unmet_rules`` names them."""
        return [name for name, _ in self._classes()]

    def unmet_rules(self, password: str) -> list[str]:
        """Names of the rules ``password`` breaks (empty when it is acceptable)."""
        unmet = []
        if len(password) < self.minimum_length:
            unmet.append(f"at least {self.minimum_length} characters")
        unmet += [name for name, found in self._classes() if not re.search(found, password)]
        return unmet

    def pattern(self) -> str:
        """The classes as one regular expression (with ``minimum_length``, the whole policy)."""
        return requiring(*(found for _, found in self._classes()))

    def description(self) -> str:
        """The policy in one sentence, for the API's documentation of a new password."""
        text = f"At least {self.minimum_length} characters"
        classes = self.required_classes()
        if classes:
            listed = ", ".join(classes[:-1]) + " and " if len(classes) > 1 else ""
            text += f", with {listed}{classes[-1]}"
        return text

    def _classes(self) -> list[tuple[str, str]]:
        # Cognito's classes: Basic Latin letters and digits, and its list of symbols.
        declared = [
            (self.require_uppercase, "an uppercase letter", "[A-Z]"),
            (self.require_lowercase, "a lowercase letter", "[a-z]"),
            (self.require_digits, "a digit", "[0-9]"),
            (self.require_symbols, "a symbol", COGNITO_SYMBOLS),
        ]
        return [(name, found) for required, name, found in declared if required]


class UserPoolDeclaration(msgspec.Struct, frozen=True):
    """The user pool, its groups and the single public app client."""

    logical_id: str
    pool_name: str
    client_name: str
    password_policy: PasswordPolicy
    groups: tuple[str, ...]
    # Short-lived access tokens: API Gateway's JWT authorizer cannot see a sign-out, so a
    # revoked access token stays usable at the gateway until it expires.
    access_token_minutes: int
    id_token_minutes: int
    refresh_token_days: int
    auth_flows: tuple[str, ...]


ADMIN_GROUP = "admin"

USER_POOL = UserPoolDeclaration(
    logical_id="UserPool",
    pool_name="serverless-blueprint-users",
    client_name="serverless-blueprint-web",
    password_policy=PasswordPolicy(),
    groups=(ADMIN_GROUP,),
    access_token_minutes=15,
    id_token_minutes=15,
    refresh_token_days=30,
    auth_flows=("USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"),
)
