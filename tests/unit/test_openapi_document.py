"""The OpenAPI document: generated from the route declaration and the contracts, committed as is."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from aiohttp import web
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from api_document.openapi import (
    DOCUMENT_PATH,
    RUNTIME_FAILURES,
    SECURITY_SCHEME,
    contracts,
    document_bytes,
    openapi_document,
)
from emulator.api_docs import add_api_docs, is_free, swagger_view
from libs.problems import TYPE_BASE, ProblemError
from libs.resources.api_routes import ROUTES, Route
from libs.resources.user_pool import USER_POOL

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _resolved(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, kind, name = node["$ref"].removeprefix("#/").split("/")
        node = document[section][kind][name]
    return node


def test_the_committed_document_matches_the_code() -> None:
    # Run `uv run python -m api_document.openapi` after changing a route, a contract or a Struct.
    assert DOCUMENT_PATH.read_bytes() == document_bytes(), "docs/openapi.json is out of date"


def test_the_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    OpenAPIV31SpecValidator(document).validate()


def test_the_swagger_ui_view_is_valid_openapi_30_without_31_keywords(
    document: dict[str, Any],
) -> None:
    view = swagger_view(document)
    OpenAPIV30SpecValidator(view).validate()
    encoded = json.dumps(view)
    assert '"const"' not in encoded
    assert '{"type": "null"}' not in encoded
    assert view["paths"].keys() == document["paths"].keys()


def test_every_declared_route_is_documented_with_its_declared_security(
    document: dict[str, Any],
) -> None:
    for route in ROUTES:
        item = document["paths"][route.path]
        key = "x-amazon-apigateway-any-method" if route.method == "ANY" else route.method.lower()
        operation = item[key]
        expected: list[dict[str, list[str]]] = (
            [{SECURITY_SCHEME: []}] if route.auth == "jwt" else []
        )
        assert operation["security"] == expected, route.route_key
        if route.auth == "jwt":
            assert "401" in operation["responses"], route.route_key
        if route.group is not None:
            assert operation["x-required-group"] == route.group
            assert "403" in operation["responses"], route.route_key


def test_the_document_has_no_operation_that_is_not_declared(document: dict[str, Any]) -> None:
    declared = {(route.path, route.method.lower()) for route in ROUTES if route.method != "ANY"}
    documented = {(path, method) for path, item in document["paths"].items() for method in item} - {
        (path, "x-amazon-apigateway-any-method") for path in document["paths"]
    }
    assert documented == declared
    assert {m for _, m in documented} <= set(METHODS)


def test_the_bearer_scheme_is_a_jwt_and_public_routes_need_none(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"][SECURITY_SCHEME]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "security" not in document  # each operation states its own
    products = document["paths"]["/products"]["get"]
    assert products["security"] == []


def test_every_example_is_valid_for_its_struct() -> None:
    for contract in contracts().values():
        success = contract.success
        for struct, example in (
            (contract.body, contract.body_example),
            (success.body, success.example),
        ):
            if struct is None:
                assert example is None, contract.route
                continue
            assert example is not None, f"{contract.route}: {struct.__name__} has no example"
            msgspec.json.decode(msgspec.json.encode(example), type=struct)


def test_a_body_route_documents_the_problems_of_reading_a_body(document: dict[str, Any]) -> None:
    operation = document["paths"]["/orders"]["post"]
    responses = {
        status: _resolved(document, response) for status, response in operation["responses"].items()
    }
    assert {"400", "413", "415", "422", "500", "503"} <= responses.keys()
    problem = responses["422"]["content"]["application/problem+json"]
    # a body the schema refuses, and an order valid by it that the catalog refuses
    assert set(problem["schema"]["allOf"][1]["properties"]["type"]["enum"]) == {
        TYPE_BASE + "validation-failed",
        TYPE_BASE + "order-refused",
    }
    assert responses["503"]["headers"]["Retry-After"]
    assert responses["201"]["headers"]["Location"]


def test_a_5xx_of_one_routes_logic_is_documented_on_that_route_only(
    document: dict[str, Any],
) -> None:
    # Given ordering-paused, which only placing an order answers (the orders.enabled flag)
    paused = TYPE_BASE + "ordering-paused"
    documenting: set[str] = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answer = _resolved(document, operation["responses"].get("503", {}))
            problem = answer.get("content", {}).get("application/problem+json")
            if problem and paused in problem["schema"]["allOf"][1]["properties"]["type"]["enum"]:
                documenting.add(f"{method.upper()} {path}")
    # Then POST /orders documents it, and no other operation does
    assert documenting == {"POST /orders"}


def test_every_5xx_problem_is_the_runtimes_or_named_by_the_routes_that_answer_it() -> None:
    # A new 5xx type must be either added to the runtime's list or named in a contract.
    found: list[type[ProblemError]] = [ProblemError]
    for known in found:
        found += [c for c in known.__subclasses__() if c not in found]
    named = {problem for contract in contracts().values() for problem in contract.problems}
    assert {c for c in found if c.status >= 500} <= set(RUNTIME_FAILURES) | named


def test_a_route_with_notes_keeps_its_own_answer_and_lists_each_problem_type(
    document: dict[str, Any],
) -> None:
    login = document["paths"]["/auth/login"]["post"]["responses"]
    forbidden = login["403"]["content"]["application/problem+json"]
    types = forbidden["schema"]["allOf"][1]["properties"]["type"]["enum"]
    assert types == [TYPE_BASE + "user-not-confirmed", TYPE_BASE + "forbidden"]
    assert "not confirmed" in login["403"]["description"]


def test_logout_documents_the_gateways_401_and_its_own(document: dict[str, Any]) -> None:
    unauthorized = document["paths"]["/auth/logout"]["post"]["responses"]["401"]
    assert set(unauthorized["content"]) == {"application/json", "application/problem+json"}


def test_every_path_answers_other_methods_with_a_405_naming_the_allowed_ones(
    document: dict[str, Any],
) -> None:
    for path, item in document["paths"].items():
        any_method = item["x-amazon-apigateway-any-method"]
        allow = any_method["responses"]["405"]["headers"]["Allow"]["example"]
        assert allow == ", ".join(sorted(m.upper() for m in item if m in METHODS)), path


def test_the_documentation_paths_are_free_of_api_routes() -> None:
    assert all(is_free(route.path) for route in ROUTES)
    assert not is_free("/openapi.json")
    assert not is_free("/docs")
    assert not is_free("/docs/swagger-ui.css")
    assert is_free("/docsets")


def test_a_gateway_refuses_a_route_on_a_documentation_path() -> None:
    clashing = Route("GET", "/docs/{page}", "products", "none", "A page")
    with pytest.raises(ValueError, match=r"GET /docs/\{page\}"):
        add_api_docs(web.Application(), [*ROUTES, clashing])


def test_the_idempotency_key_header_has_the_pattern_the_orders_function_enforces() -> None:
    from services.orders.contract import IDEMPOTENCY_KEY
    from services.orders.handler import _IDEMPOTENCY_KEY

    assert IDEMPOTENCY_KEY.schema["pattern"] == _IDEMPOTENCY_KEY.pattern


def test_every_password_being_set_states_the_pools_policy(document: dict[str, Any]) -> None:
    policy = USER_POOL.password_policy
    schemas = document["components"]["schemas"]
    for struct, field in (("Register", "password"), ("ResetPassword", "newPassword")):
        schema = schemas[struct]["properties"][field]
        assert schema["minLength"] == policy.minimum_length, struct
        assert schema["description"] == policy.description(), struct
    # A login's password is whatever the pool once accepted: the policy may have changed since
    assert "description" not in schemas["LogIn"]["properties"]["password"]
    assert schemas["LogIn"]["properties"]["password"]["minLength"] == 1
