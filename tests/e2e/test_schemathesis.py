"""Every route of the local gateway, driven from the OpenAPI document with generated input.

Schemathesis generates requests from the document (its examples, boundary values, then random
valid data) and sends them with real Cognito tokens. Every response must conform to the
document (status, content type, headers, schema), no response may be a 5xx, and every error
must be a problem+json with a stable ``type`` (the gateway's documented 401 excepted). The
seed is fixed so a failure reproduces; the catalog is restored afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from libs.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from services.openapi import openapi_document
from services.products.seed import seed_catalog
from tests.accounts import SignedInUser, UserFactory, account_email

if TYPE_CHECKING:
    from schemathesis.checks import CheckContext
    from schemathesis.core.transport import Response
    from schemathesis.specs.openapi.schemas import OpenApiCase, OpenApiOperation
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.emulator("generated input is aimed at the local system, never a deployed stage"),
]

SEED = 20_260_314
# Generated cases per operation and phase: enough to reach every documented answer, small
# enough that the whole file stays well under a minute on two cores.
MAX_EXAMPLES = 15

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        # Generating data takes longer on a busy machine; that is no fault of the API.
        "suppress-health-check": ["too_slow"],
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {
            "coverage": {"generation": {"mode": "positive"}},
            "stateful": {"enabled": False},
        },
        "checks": {
            # An opaque cursor is valid by its schema yet refused unless this API issued it,
            # and 2.0 is an integer to JSON Schema but not to msgspec: these two checks would
            # flag the API's documented answers, not bugs.
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        },
    }
)
# The document as the code generates it; the gateway's address is given with each call.
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@dataclass(frozen=True)
class Callers:
    """Whom the generated requests come from: a customer, and an admin for the group routes."""

    customer: SignedInUser
    admin: SignedInUser

    def headers_for(self, operation: OpenApiOperation) -> dict[str, str]:
        """The Authorization header the operation's declared security asks for."""
        definition = operation.definition.raw
        if not definition.get("security"):
            return {}
        caller = self.admin if definition.get("x-required-group") else self.customer
        return caller.headers


@pytest.fixture(scope="module")
async def callers(make_user: UserFactory) -> Callers:
    # Users of their own: the run deletes its customer's account and signs it out.
    return Callers(customer=await make_user(), admin=await make_user("admin"))


@pytest.fixture(scope="module")
async def restored_catalog(dynamodb: DynamoDBClient, table_name: str) -> AsyncIterator[None]:
    """Put the demo catalog back afterwards: generated PUTs may replace seeded products."""
    yield
    await seed_catalog(dynamodb, table_name)


def error_is_a_problem(ctx: CheckContext, response: Response, case: OpenApiCase) -> bool | None:
    """A 4xx/5xx is problem+json with a stable type, or the gateway's documented 401."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if response.status_code == 401 and content_type.startswith("application/json"):
        assert case.operation.definition.raw.get("security"), "a public route answered 401"
        assert response.json() == {"message": "Unauthorized"}
        return True
    assert content_type.startswith(PROBLEM_CONTENT_TYPE), f"{content_type} is not problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"].startswith(TYPE_BASE), problem
    assert problem["status"] == response.status_code, problem
    return True


@schema.parametrize()
@pytest.mark.usefixtures("restored_catalog")
def test_generated_requests_get_documented_answers(
    case: OpenApiCase, api_url: str, callers: Callers
) -> None:
    case.call_and_validate(
        base_url=api_url,
        headers=callers.headers_for(case.operation),
        additional_checks=[error_is_a_problem],
    )


# -- what the generated input found, pinned ---------------------------------------------------


def test_an_undeclared_method_of_any_name_is_a_405_problem(api_url: str) -> None:
    # Given a path that declares GET and POST
    for method in ("TRACE", "QUERY", "HEAD"):
        # When it is called with another method, one the function registers no handler for
        response = requests.request(method, f"{api_url}/products", timeout=10)
        # Then the answer is 405 naming the declared methods, not "no such route"
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, POST"
        if method != "HEAD":
            assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
            assert response.json()["type"] == TYPE_BASE + "method-not-allowed"


def test_a_password_reset_for_an_unknown_email_is_an_invalid_code(api_url: str) -> None:
    # Given an email no account has
    body = {"email": account_email("nobody"), "code": "123456", "newPassword": "Battery-8-x"}
    # When a password reset is confirmed for it
    response = requests.post(f"{api_url}/auth/reset-password", json=body, timeout=10)
    # Then it gets the answer of a wrong code (as from Cognito), not a 500
    assert response.status_code == 400
    assert response.json()["type"] == TYPE_BASE + "invalid-code"
