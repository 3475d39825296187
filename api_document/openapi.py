"""The OpenAPI 3.1 document of the HTTP API: the route declaration joined with the contracts.

Routes, tokens and groups come from ``libs/resources/api_routes.py``; bodies, queries and answers
from each service's ``contract.py`` and its msgspec Structs. ``python -m api_document.openapi``
rewrites ``docs/openapi.json``; a test fails when it drifts from the code.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

import msgspec

from libs import json_patterns
from libs.api_contract import Header, Link, RouteContract
from libs.problems import (
    TYPE_BASE,
    BadRequest,
    DependencyTimeout,
    DependencyUnavailable,
    Forbidden,
    InvalidParam,
    MalformedJson,
    MethodNotAllowed,
    PayloadTooLarge,
    Problem,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
)
from libs.resources.api_routes import ROUTES, Route
from libs.resources.user_pool import USER_POOL
from libs.transactions import ConditionFailed, TransactionBusy, TransactionRefused

DOCUMENT_PATH: Final = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
OPENAPI_VERSION: Final = "3.1.0"
SECURITY_SCHEME: Final = "CognitoJwt"
JSON: Final = "application/json"
PROBLEM_JSON: Final = "application/problem+json"
LOCAL_SERVER: Final = "http://127.0.0.1:3000"
_SCHEMAS: Final = "#/components/schemas/"
_PHRASES: Final = frozenset(status.phrase for status in HTTPStatus)

_TAGS: Final = {
    "products": "The catalog: anyone reads it, members of the `admin` group change it.",
    "auth": "Accounts and sessions over the Cognito user pool.",
    "users": "The caller's own profile and account.",
    "orders": "The caller's orders: placed idempotently, moved through their life cycle.",
    "notifications": "What the caller was told about their account and orders.",
}

_DESCRIPTION: Final = f"""\
Async, AWS-native microservices behind API Gateway (HTTP API) and Lambda.

**Tokens.** Protected operations take a Cognito **access token** as `Authorization: Bearer \
<token>`; `POST /auth/login` returns one. API Gateway's JWT authorizer checks it before any \
function runs; a missing or invalid token is `401 {{"message":"Unauthorized"}}`. Access tokens \
live {USER_POOL.access_token_minutes} minutes.

**Errors.** Every 4xx/5xx a function returns is `application/problem+json` (RFC 9457) with a \
stable `type` under `{TYPE_BASE}`: switch on `type`, never on `title` or `detail`. A 422 names \
each rejected field in `invalidParams[].name` (e.g. `items[0].quantity`). The gateway's own \
refusals keep API Gateway's `{{"message": ...}}` bodies: 401 for a token, 404 for a path no \
route declares.

**Methods.** Each path answers the methods it does not declare with a 405 problem and an \
`Allow` header (its `x-amazon-apigateway-any-method` route).

**Correlation.** Send `X-Correlation-Id` (1-128 characters of `A-Za-z0-9._:-`) to follow a \
request through the logs; every function response carries the id used (the request id \
otherwise).
"""

# What the shared runtime (libs/http_function.py, libs/origin_check.py) may answer on any route
# when something fails; a 5xx of one route's own logic (e.g. ordering-paused) is in its contract.
RUNTIME_FAILURES: Final[tuple[type[ProblemError], ...]] = (
    ProblemError,
    ServiceUnavailable,
    DependencyUnavailable,
    DependencyTimeout,
    # A cancelled transaction (libs/transactions.py): each a `service-unavailable`.
    ConditionFailed,
    TransactionBusy,
    TransactionRefused,
)
# A typical detail of each problem type, for the examples (keyed by the `type` slug).
_EXAMPLE_DETAILS: Final[Mapping[str, str]] = {
    "malformed-json": "The body is not valid JSON: input data was truncated",
    "bad-request": "The cursor is not one this API issued",
    "invalid-code": "The code is wrong or expired; request a new one",
    "unauthorized": "Incorrect email or password",
    "forbidden": "Only members of admin may do this",
    "user-not-confirmed": "Confirm the registration with the emailed code first",
    "not-found": "No order 0b6f1a52-7f3e-4c7e-9a41-5d2b8c9e0f13",
    "method-not-allowed": "Allowed methods: GET, POST",
    "conflict": "An order cannot go from SHIPPED to CANCELLED",
    "payload-too-large": "The body is 70000 bytes; the limit is 65536",
    "unsupported-media-type": "Send the body as application/json, not text/plain",
    "validation-failed": "The body does not match the schema",
    "too-many-requests": "Too many attempts; retry later",
    "internal-error": "The request could not be completed",
    "service-unavailable": "A dependency is busy; retry shortly",
    "dependency-unavailable": "The table could not be reached; retry shortly",
    "dependency-timeout": "The table did not answer in time; retry shortly",
    "order-refused": "The order cannot be priced",
    "ordering-paused": (
        "New orders are paused for now; existing orders can still be read and cancelled"
    ),
}
_EXAMPLE_INVALID_PARAMS: Final = [
    InvalidParam(name="items[0].quantity", reason="Expected `int` >= 1")
]


class GatewayMessage(msgspec.Struct):
    """API Gateway's own answer, e.g. ``{"message":"Unauthorized"}``: no function ran."""

    message: str


def contracts() -> dict[str, RouteContract]:
    """Every service's route contracts, by route key."""
    found: dict[str, RouteContract] = {}
    for function in dict.fromkeys(route.function for route in ROUTES):
        module = importlib.import_module(f"services.{function}.contract")
        for contract in module.CONTRACTS:
            if contract.route in found:
                raise ValueError(f"{contract.route} has two contracts")
            found[contract.route] = contract
    return found


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared route."""
    by_route = contracts()
    declared = {route.route_key for route in ROUTES if route.method != "ANY"}
    if set(by_route) != declared:
        unmatched = sorted(set(by_route) ^ declared)
        raise ValueError(f"routes without a contract or contracts without a route: {unmatched}")
    _check_links(list(by_route.values()))
    schemas = _schema_components(by_route.values())
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        item = paths.setdefault(route.path, {})
        if route.method == "ANY":
            item["x-amazon-apigateway-any-method"] = _any_method(route)
        else:
            item[route.method.lower()] = _operation(route, by_route[route.route_key])
    shared_responses = _share_responses(paths)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "serverless-blueprint API",
            "version": _api_version(),
            "description": _DESCRIPTION,
        },
        "servers": [{"url": LOCAL_SERVER, "description": "The local gateway (`just dev`)"}],
        "tags": [{"name": name, "description": text} for name, text in _TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {SECURITY_SCHEME: _security_scheme()},
            "responses": shared_responses,
            "parameters": {"CorrelationId": _correlation_parameter()},
            "headers": {
                "CorrelationId": {
                    "description": "The request's correlation id (the one sent, if valid)",
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "string", "pattern": json_patterns.DECIMAL_DIGITS},
                },
            },
            "examples": _problem_examples(),
        },
    }


def _check_links(contracts: Iterable[RouteContract]) -> None:
    operation_ids = {contract.operation_id for contract in contracts}
    for contract in contracts:
        for link in contract.success.links:
            if link.operation_id not in operation_ids:
                raise ValueError(f"{contract.route} links to an unknown {link.operation_id}")


def document_bytes() -> bytes:
    """The document as committed: JSON with a two-space indent and a final newline."""
    return msgspec.json.format(msgspec.json.encode(openapi_document()), indent=2) + b"\n"


def write_document(path: Path = DOCUMENT_PATH) -> Path:
    """Write the document to ``path``; the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document_bytes())
    return path


# -- operations -------------------------------------------------------------------------------


def _operation(route: Route, contract: RouteContract) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [route.function],
        "operationId": contract.operation_id,
        "summary": route.summary,
    }
    description = contract.description
    if route.group is not None:
        group_note = f"Only members of the Cognito group `{route.group}` (403 otherwise)."
        description = f"{description} {group_note}".strip()
    if description:
        operation["description"] = description
    operation["security"] = [{SECURITY_SCHEME: []}] if route.auth == "jwt" else []
    if route.group is not None:
        operation["x-required-group"] = route.group
    operation["parameters"] = _parameters(route, contract)
    if contract.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                JSON: {
                    "schema": _ref(contract.body),
                    "examples": {"example": {"value": _plain(contract.body_example)}},
                }
            },
        }
    operation["responses"] = {
        str(contract.success.status): _success(contract),
        **_errors(route, contract),
    }
    return operation


def _parameters(route: Route, contract: RouteContract) -> list[dict[str, Any]]:
    parameters = []
    for name in route.path_parameters:
        schema = msgspec.json.schema(contract.parameters[name])
        parameters.append(_parameter(name, "path", schema, contract.notes.get(name), True))
    if contract.query is not None:
        query = _component_of(contract.query)
        required = set(query.get("required", ()))
        for name, schema in query["properties"].items():
            note = contract.notes.get(name)
            parameters.append(_parameter(name, "query", _not_null(schema), note, name in required))
    for header in contract.headers:
        schema = dict(header.schema)
        parameters.append(
            _parameter(header.name, "header", schema, header.description, header.required)
        )
    parameters.append({"$ref": "#/components/parameters/CorrelationId"})
    return parameters


def _parameter(
    name: str, where: str, schema: dict[str, Any], description: str | None, required: bool
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": where}
    if description:
        parameter["description"] = description
    parameter["required"] = required
    parameter["schema"] = schema
    return parameter


def _success(contract: RouteContract) -> dict[str, Any]:
    success = contract.success
    response: dict[str, Any] = {
        "description": success.description,
        "headers": _headers(success.headers),
    }
    if success.body is not None:
        response["content"] = {
            JSON: {
                "schema": _ref(success.body),
                "examples": {"example": {"value": _plain(success.example)}},
            }
        }
    if success.links:
        response["links"] = {link.name: _link(link) for link in success.links}
    return response


def _link(link: Link) -> dict[str, Any]:
    documented: dict[str, Any] = {
        "operationId": link.operation_id,
        "description": link.description,
    }
    if link.parameters:
        documented["parameters"] = dict(link.parameters)
    if link.request_body is not None:
        documented["requestBody"] = link.request_body
    return documented


def _headers(headers: Iterable[Header]) -> dict[str, Any]:
    documented: dict[str, Any] = {
        header.name: {"description": header.description, "schema": dict(header.schema)}
        for header in headers
    }
    documented["x-correlation-id"] = {"$ref": "#/components/headers/CorrelationId"}
    return documented


def _errors(route: Route, contract: RouteContract) -> dict[str, Any]:
    """The error answers of a route, by status: its problems, and the gateway's 401."""
    problems = _problems(route, contract)
    statuses = {problem.status for problem in problems}
    if route.auth == "jwt":
        statuses.add(401)
    responses: dict[str, Any] = {}
    for status in sorted(statuses):
        of_status = [problem for problem in problems if problem.status == status]
        response = _problem_response(status, of_status, contract.notes.get(str(status)))
        if status == 401 and route.auth == "jwt":
            response = _gateway_unauthorized(response if of_status else None)
        responses[str(status)] = response
    return responses


def _problems(route: Route, contract: RouteContract) -> list[type[ProblemError]]:
    """What the route's logic raises, plus what every route of its kind may answer."""
    problems: list[type[ProblemError]] = list(contract.problems)
    if contract.body is not None:
        problems += [MalformedJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed]
    if contract.query is not None:
        problems.append(ValidationFailed)
        if "cursor" in _component_of(contract.query)["properties"]:
            problems.append(BadRequest)  # a cursor this API did not issue
    if contract.headers:
        problems.append(ValidationFailed)
    if route.group is not None:
        problems.append(Forbidden)
    problems += RUNTIME_FAILURES
    return list(dict.fromkeys(problems))


def _problem_response(
    status: int, problems: list[type[ProblemError]], note: str | None
) -> dict[str, Any]:
    slugs = list(dict.fromkeys(problem.slug for problem in problems))
    description = HTTPStatus(status).phrase
    if note:
        description = f"{description}: {note}"
    response: dict[str, Any] = {"description": description}
    headers: dict[str, Any] = {}
    if status in (TooManyRequests.status, ServiceUnavailable.status, DependencyTimeout.status):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    if status == MethodNotAllowed.status:
        headers["Allow"] = {
            "description": "The methods the path declares",
            "schema": {"type": "string"},
        }
    response["headers"] = {**headers, **_headers(())}
    if problems:
        response["content"] = {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        {"$ref": _SCHEMAS + "Problem"},
                        {
                            "properties": {
                                "type": {"enum": [TYPE_BASE + slug for slug in slugs]},
                                "status": {"const": status},
                            }
                        },
                    ]
                },
                "examples": {slug: {"$ref": f"#/components/examples/{slug}"} for slug in slugs},
            }
        }
    return response


def _gateway_unauthorized(function_answer: dict[str, Any] | None) -> dict[str, Any]:
    """The gateway's 401 for a missing or invalid token, and the function's own if it has one."""
    description = "Unauthorized: no valid access token (the gateway's answer; no function ran)"
    content: dict[str, Any] = {
        JSON: {"schema": _ref(GatewayMessage), "example": {"message": "Unauthorized"}}
    }
    headers: dict[str, Any] = {
        "WWW-Authenticate": {
            "description": '`Bearer`, with `error="invalid_token"` when a token was sent',
            "schema": {"type": "string"},
        }
    }
    if function_answer is not None:
        description = f"{description}; or {function_answer['description']}"
        content |= function_answer["content"]
        headers |= function_answer["headers"]
    return {"description": description, "headers": headers, "content": content}


def _any_method(route: Route) -> dict[str, Any]:
    allowed = sorted(
        other.method for other in ROUTES if other.path == route.path and other.method != "ANY"
    )
    response = _problem_response(
        MethodNotAllowed.status, [MethodNotAllowed], f"this path declares {', '.join(allowed)}"
    )
    response["headers"]["Allow"]["example"] = ", ".join(allowed)
    return {
        "tags": [route.function],
        "summary": route.summary,
        "description": "API Gateway routes every other method of this path here: a 405 problem "
        "instead of API Gateway's bare 404.",
        "security": [],
        "responses": {str(MethodNotAllowed.status): response},
    }


# -- components -------------------------------------------------------------------------------


def _share_responses(paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Move error answers that several operations give alike to ``components/responses``.

    A shared answer is one problem type without a route-specific note (named after the type,
    e.g. ``PayloadTooLarge``), or the gateway's bare 401; the operations then refer to it.
    """
    uses: dict[bytes, list[dict[str, Any]]] = {}
    for item in paths.values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and _shared_name(response) is not None:
                    uses.setdefault(msgspec.json.encode(response), []).append(operation)
    shared: dict[str, Any] = {}
    for encoded, operations in uses.items():
        if len(operations) < 2:
            continue
        response = msgspec.json.decode(encoded)
        name = _shared_name(response)
        assert name is not None
        if name in shared:
            raise ValueError(f"two different answers would be named {name}")
        shared[name] = response
        for operation in operations:
            for status, candidate in operation["responses"].items():
                if candidate == response:
                    operation["responses"][status] = {"$ref": f"#/components/responses/{name}"}
    return dict(sorted(shared.items()))


def _shared_name(response: dict[str, Any]) -> str | None:
    content = response.get("content", {})
    if set(content) == {JSON} and content[JSON]["schema"] == _ref(GatewayMessage):
        return "GatewayUnauthorized"
    slugs = list(content.get(PROBLEM_JSON, {}).get("examples", {}))
    plain = response["description"] in _PHRASES  # no note of one route's own
    if set(content) != {PROBLEM_JSON} or len(slugs) != 1 or not plain:
        return None
    return "".join(word.title() for word in slugs[0].split("-"))


def _schema_components(contracts: Iterable[RouteContract]) -> dict[str, Any]:
    """JSON Schemas of every body, answer and problem Struct, under their names."""
    types: list[type] = []
    for contract in contracts:
        types += [t for t in (contract.body, contract.success.body) if t is not None]
    types += [Problem, GatewayMessage]
    _, components = msgspec.json.schema_components(
        list(dict.fromkeys(types)), ref_template=_SCHEMAS + "{name}"
    )
    for name, schema in components.items():
        if "." in name:
            raise ValueError(f"two wire Structs are named {name.rsplit('.', 1)[-1]}: rename one")
        if "description" in schema:
            schema["description"] = inspect.cleandoc(schema["description"])
    problem = components["Problem"]
    problem["description"] = (
        "An RFC 9457 problem: `type` is stable, `title` its summary, `detail` this occurrence."
    )
    problem["properties"]["type"]["format"] = "uri"
    return dict(sorted(components.items()))


def _component_of(struct: type) -> dict[str, Any]:
    _, components = msgspec.json.schema_components([struct])
    schema: dict[str, Any] = components[struct.__name__]
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is a string or absent, never null: drop the null alternative."""
    alternatives = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(alternatives) != 1:
        return schema
    plain = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    if schema.get("default") is not None:
        plain["default"] = schema["default"]
    return {**alternatives[0], **plain}


def _security_scheme() -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A Cognito user pool access token (`POST /auth/login` → `accessToken`). API "
            "Gateway's JWT authorizer verifies the RS256 signature against the pool's JWKS, "
            "`iss`, `client_id` (or `aud`), `exp`, `nbf` and `iat`; it checks no revocation. "
            "Groups come from the token's `cognito:groups` claim."
        ),
    }


def _correlation_parameter() -> dict[str, Any]:
    return {
        "name": "X-Correlation-Id",
        "in": "header",
        "description": (
            "Follow the request through the logs: 1-128 characters of `A-Za-z0-9._:-`. Any "
            "other value is accepted and replaced by the request id."
        ),
        "required": False,
        "schema": {"type": "string"},
    }


def _problem_examples() -> dict[str, Any]:
    examples: dict[str, Any] = {}
    for problem_class in sorted(_problem_classes(), key=lambda c: (c.status, c.slug)):
        invalid = _EXAMPLE_INVALID_PARAMS if problem_class is ValidationFailed else None
        error = problem_class(_EXAMPLE_DETAILS.get(problem_class.slug), invalid_params=invalid)
        problem = error.to_problem(instance="/orders", correlation_id="Xk3cWhGfIAMEVfA=")
        examples[problem_class.slug] = {"summary": problem.title, "value": _plain(problem)}
    return examples


def _problem_classes() -> list[type[ProblemError]]:
    """ProblemError and every subclass of it, each once."""
    found: list[type[ProblemError]] = [ProblemError]
    for known in found:
        found += [c for c in known.__subclasses__() if c not in found]
    return found


def _ref(struct: type) -> dict[str, str]:
    return {"$ref": _SCHEMAS + struct.__name__}


def _plain(value: Any) -> Any:
    """An example as it travels: a Struct encoded to JSON and decoded back."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _api_version() -> str:
    return importlib.metadata.version("serverless-blueprint")


if __name__ == "__main__":
    print(f"wrote {write_document()}")
