"""The Cognito user pool and its app client."""

from __future__ import annotations

import msgspec


class PasswordPolicy(msgspec.Struct, frozen=True):
    """Cognito's password rules, also used to explain a rejected password."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_digits: bool = True
    require_symbols: bool = False

    def unmet_rules(self, password: str) -> list[str]:
        """Names of the rules ``password`` breaks (empty when it is acceptable)."""
        unmet = []
        if len(password) < self.minimum_length:
            unmet.append(f"at least {self.minimum_length} characters")
        if self.require_uppercase and not any(c.isupper() for c in password):
            unmet.append("an uppercase letter")
        if self.require_lowercase and not any(c.islower() for c in password):
            unmet.append("a lowercase letter")
        if self.require_digits and not any(c.isdigit() for c in password):
            unmet.append("a digit")
        if self.require_symbols and all(c.isalnum() for c in password):
            unmet.append("a symbol")
        return unmet


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
