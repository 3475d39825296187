"""Who is calling: the claims API Gateway's JWT authorizer verified and passed on."""

from __future__ import annotations

import msgspec
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from libs.problems import Unauthorized


class Caller(msgspec.Struct, frozen=True):
    """The authenticated user of a request."""

    user_id: str
    groups: frozenset[str]

    def in_group(self, group: str) -> bool:
        """Whether the caller belongs to ``group``."""
        return group in self.groups


def parse_groups(value: str | list[str] | None) -> frozenset[str]:
    """Parse ``cognito:groups`` as API Gateway passes it: the string ``"[admin ops]"``.

    Payload 2.0 turns every claim into a string, so an array arrives bracketed and
    space-separated; a real list is accepted too, for direct invocations.
    """
    if value is None:
        return frozenset()
    if isinstance(value, list):
        return frozenset(value)
    inner = value.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return frozenset(part for part in inner.replace(",", " ").split() if part)


def caller_of(event: APIGatewayProxyEventV2) -> Caller:
    """The caller of a protected route (401 when the event carries no verified claims)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    user_id = claims.get("sub")
    if not user_id:
        raise Unauthorized("The request carries no verified identity")
    return Caller(user_id=user_id, groups=parse_groups(claims.get("cognito:groups")))
