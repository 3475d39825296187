"""What an HTTP route takes and answers: the Structs of its body, query and success response.

Each service declares one ``RouteContract`` per route in ``services/<name>/contract.py``, next to
its models; ``api_document/openapi.py`` joins them with ``libs/resources/api_routes.py`` into the
OpenAPI document. The gateway-level facts (method, path, token, group) stay in the route table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from libs.problems import ProblemError


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """A request or response header, with the JSON Schema of its value."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """An OpenAPI link: how a success answer's values feed another operation.

    ``parameters`` and ``request_body`` hold runtime expressions such as
    ``$response.body#/orderId``; clients and the stateful tests follow them.
    """

    name: str
    operation_id: str
    description: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_body: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Success:
    """The success answer of a route: status, body Struct (None: no body), headers, links."""

    status: int
    description: str
    body: type | None = None
    example: Any = None
    headers: tuple[Header, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteContract:
    """One route's request and response shapes, and the problems it may answer.

    ``problems`` lists what the route's own logic raises; the generator adds those every route
    of its kind can answer (a body's 400/413/415/422, a group's 403, AWS's 503, ...).
    ``parameters`` types the path parameters (msgspec-annotated types); ``notes`` describes
    parameters and headers by name.
    """

    route: str  # the route key of libs/resources/api_routes.py, e.g. "GET /orders/{orderId}"
    operation_id: str
    success: Success
    body: type | None = None
    body_example: Any = None
    query: type | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    headers: tuple[Header, ...] = ()
    problems: tuple[type[ProblemError], ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
