"""Every route of the local gateway, driven from the OpenAPI document with generated input.

Schemathesis generates requests from the document (its examples, boundary values, then random
valid and invalid data) and sends them with real Cognito tokens (a customer, and an admin for
the admin routes), one operation at a time and then in sequences that follow the document's
links. Every check runs, as ``st run --checks all`` would: status codes, content types, headers
and bodies as documented, valid data accepted and invalid data refused, no 5xx, authentication
not ignored, a created resource readable; and every error must be a problem+json with a stable
``type`` (the gateway's documented 401 excepted).

Nothing is turned off. The one setting per operation comes from the document itself: a valid
request may get the 4xx answers the document lists with a business problem type (a wrong code,
an unknown product, a cursor this API did not issue), so the positive-data check accepts those.
The seed is fixed so a failure reproduces; the catalog is restored afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from api_document.openapi import openapi_document
from libs.problems import (
    PROBLEM_CONTENT_TYPE,
    TYPE_BASE,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from services.products.seed import seed_catalog
from tests.accounts import SignedInUser, UserFactory, account_email

if TYPE_CHECKING:
    from schemathesis.checks import CheckContext, CheckFunction
    from schemathesis.core.transport import Response
    from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
    from schemathesis.specs.openapi.schemas import OpenApiCase, OpenApiOperation
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.emulator("generated input is aimed at the local system, never a deployed stage"),
]

SEED = 20_260_314
# Generated cases per operation and phase: enough to reach every documented answer, few enough
# that the file stays near a minute on two cores (CI runs it with everything else).
MAX_EXAMPLES = 10
# Stateful scenarios, and the calls in each, that follow the document's links.
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 6

# What a request valid by the schema may still be told, by problem type: everything but the
# refusals of a body or query the schema itself refuses.
SCHEMA_REFUSALS: Final = frozenset(
    TYPE_BASE + problem.slug
    for problem in (MalformedJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed)
)
# Schemathesis's own default for the positive-data check, which a per-operation list replaces.
POSITIVE_DEFAULTS: Final = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
DOCUMENT: Final = openapi_document()


def business_statuses(operation: dict[str, Any]) -> list[str]:
    """The 4xx statuses the document gives a schema-valid request of ``operation``.

    A status counts when one of its problem types is not a schema refusal, e.g. 400
    ``invalid-code`` for a wrong confirmation code, or 422 ``order-refused`` for a product the
    catalog lacks: the positive-data check accepts them because the document states them.
    """
    found = []
    for status, response in operation["responses"].items():
        resolved = resolve(response)
        content = resolved.get("content", {}).get("application/problem+json")
        if not 400 <= int(status) < 500 or content is None:
            continue
        types = set(content["schema"]["allOf"][1]["properties"]["type"]["enum"])
        if types - SCHEMA_REFUSALS:
            found.append(status)
    return found


def resolve(response: dict[str, Any]) -> dict[str, Any]:
    """A response object, through its ``$ref`` to ``components/responses``."""
    reference = response.get("$ref")
    if reference is None:
        return response
    resolved: dict[str, Any] = DOCUMENT["components"]["responses"][reference.rsplit("/", 1)[1]]
    return resolved


def per_operation_acceptance() -> list[dict[str, Any]]:
    """Per operation, the positive-data check's accepted statuses: defaults and the document's."""
    accepted = []
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            statuses = business_statuses(operation)
            if "operationId" in operation and statuses:
                expected = list(dict.fromkeys(POSITIVE_DEFAULTS + statuses))
                accepted.append(
                    {
                        "include-operation-id": operation["operationId"],
                        "checks": {"positive_data_acceptance": {"expected-statuses": expected}},
                    }
                )
    return accepted


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        # Generating data takes longer on a busy machine; that is no fault of the API.
        "suppress-health-check": ["too_slow"],
        # Valid and invalid data, in every phase (examples, coverage, fuzzing).
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "mode": "all"},
        # Every check, as `st run --checks all`; none is turned off.
        "checks": {"enabled": True},
        "operations": per_operation_acceptance(),
    }
)
# The document as the code generates it; the gateway's address is given with each call.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


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


def case_label(case: OpenApiCase) -> str:
    """The operation a case calls, as ``METHOD /path/{template}``."""
    return f"{case.method} {case.operation.path}"


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


@pytest.mark.usefixtures("restored_catalog")
def test_linked_operations_in_sequence_get_documented_answers(
    api_url: str, callers: Callers
) -> None:
    # Given the document's links (a placed order to reading and changing it, a login to a
    # refresh, a profile read to an update at its version, ...)
    steps: list[tuple[str | None, str, int]] = []

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: OpenApiCase) -> dict[str, Any]:
            return {"base_url": api_url, "headers": callers.headers_for(case.operation)}

        def step(self, input: StepInput) -> StepOutput:
            output: StepOutput = super().step(input)
            link = input.transition.id if input.transition and input.is_applied else None
            steps.append((link, case_label(input.case), output.response.status_code))
            return output

        def validate_response(
            self,
            response: Response,
            case: OpenApiCase,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            checks = [*(additional_checks or []), error_is_a_problem]
            super().validate_response(response, case, additional_checks=checks, **kwargs)

    # When sequences of calls follow them, with every check on each answer
    # Then every answer is as documented (a failure raises, with the sequence that led to it)
    Scenarios.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    import collections

    print(collections.Counter(steps).most_common())


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


@pytest.mark.parametrize("path", ["/products", "/orders", "/notifications"])
def test_an_empty_cursor_is_the_first_page(api_url: str, callers: Callers, path: str) -> None:
    # Given a listing asked for with an empty cursor, as a form or a generated client sends it
    headers = {} if path == "/products" else callers.admin.headers
    first = requests.get(f"{api_url}{path}?limit=20", headers=headers, timeout=10)
    # When the same page is asked for with `cursor=`
    response = requests.get(f"{api_url}{path}?limit=20&cursor=", headers=headers, timeout=10)
    # Then it is the first page, as without a cursor
    assert response.status_code == 200, response.text
    assert response.json()["items"] == first.json()["items"]


@pytest.mark.usefixtures("restored_catalog")
def test_a_whole_number_written_with_a_fraction_is_taken_as_an_integer(
    api_url: str, callers: Callers
) -> None:
    # Given a product whose price, an integer, is written 198967.0 (an integer to JSON Schema)
    body = {"name": "Desk", "category": "furniture", "price": 198967.0, "currency": "EUR"}
    # When it is created
    response = requests.post(
        f"{api_url}/products", json=body, headers=callers.admin.headers, timeout=10
    )
    # Then it is, with the price as the integer it is
    assert response.status_code == 201, response.text
    assert response.json()["price"] == 198967
    assert '"price":198967,' in response.text


def test_a_password_reset_for_an_unknown_email_is_an_invalid_code(api_url: str) -> None:
    # Given an email no account has
    body = {"email": account_email("nobody"), "code": "123456", "newPassword": "Battery-8-x"}
    # When a password reset is confirmed for it
    response = requests.post(f"{api_url}/auth/reset-password", json=body, timeout=10)
    # Then it gets the answer of a wrong code (as from Cognito), not a 500
    assert response.status_code == 400
    assert response.json()["type"] == TYPE_BASE + "invalid-code"
