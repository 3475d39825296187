"""Test stand-ins for Lambda's context object, typed as the one Powertools declares."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def as_lambda_context(fake: object) -> LambdaContext:
    """A test's context in the place of Lambda's: it has the attributes the function reads."""
    return cast("LambdaContext", fake)
