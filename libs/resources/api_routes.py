"""The HTTP API's routes: method, path, the function behind it and whether it needs a token.

API Gateway matches a request to the most specific route; a path's ``ANY`` route catches the
methods its other routes do not declare, so the function can answer 405 in problem+json instead
of API Gateway's bare 404.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "ANY"]
Auth = Literal["jwt", "none"]

_PARAMETER = re.compile(r"\{(\w+)\}")


class Route(msgspec.Struct, frozen=True):
    """One route of the HTTP API."""

    method: Method
    path: str  # API Gateway syntax: /orders/{orderId}
    function: str
    auth: Auth
    summary: str
    # The Cognito group a caller must belong to; checked by the function (403), not the gateway.
    group: str | None = None

    @property
    def route_key(self) -> str:
        """API Gateway's route key, e.g. ``GET /orders/{orderId}``."""
        return f"{self.method} {self.path}"

    @property
    def path_parameters(self) -> tuple[str, ...]:
        """Names of the path's parameters, in order."""
        return tuple(_PARAMETER.findall(self.path))

    @property
    def powertools_rule(self) -> str:
        """The path in Powertools' syntax, e.g. ``/orders/<orderId>``."""
        return _PARAMETER.sub(r"<\1>", self.path)

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters when ``path`` matches this route's path, else None."""
        found = _compile(self.path).match(path)
        return found.groupdict() if found else None


def _compile(path: str) -> re.Pattern[str]:
    segments = []
    for segment in path.strip("/").split("/"):
        parameter = _PARAMETER.fullmatch(segment)
        segments.append(f"(?P<{parameter[1]}>[^/]+)" if parameter else re.escape(segment))
    return re.compile("^/" + "/".join(segments) + "$")


def _resource(
    function: str, path: str, *methods: tuple[Method, Auth, str, str | None]
) -> list[Route]:
    routes = [Route(m, path, function, auth, summary, group) for m, auth, summary, group in methods]
    routes.append(Route("ANY", path, function, "none", "Answers 405 for undeclared methods"))
    return routes


ROUTES: tuple[Route, ...] = (
    *_resource(
        "products",
        "/products",
        ("GET", "none", "List products, optionally by category", None),
        ("POST", "jwt", "Create a product (group admin)", "admin"),
    ),
    *_resource(
        "products",
        "/products/{productId}",
        ("GET", "none", "Get a product", None),
        ("PUT", "jwt", "Replace a product (group admin)", "admin"),
    ),
    *_resource("auth", "/auth/register", ("POST", "none", "Register a new user", None)),
    *_resource("auth", "/auth/confirm", ("POST", "none", "Confirm a registration code", None)),
    *_resource("auth", "/auth/login", ("POST", "none", "Log in with email and password", None)),
    *_resource("auth", "/auth/refresh", ("POST", "none", "New tokens from a refresh token", None)),
    *_resource(
        "auth", "/auth/forgot-password", ("POST", "none", "Send a password reset code", None)
    ),
    *_resource(
        "auth", "/auth/reset-password", ("POST", "none", "Set a new password with a code", None)
    ),
    *_resource("auth", "/auth/logout", ("POST", "jwt", "Sign out everywhere", None)),
    *_resource(
        "users",
        "/users/me",
        ("GET", "jwt", "The caller's profile", None),
        ("PUT", "jwt", "Update the caller's profile", None),
        ("DELETE", "jwt", "Delete the caller's account", None),
    ),
    *_resource(
        "orders",
        "/orders",
        ("GET", "jwt", "List the caller's orders, newest first", None),
        ("POST", "jwt", "Place an order", None),
    ),
    *_resource(
        "orders",
        "/orders/{orderId}",
        ("GET", "jwt", "Get one of the caller's orders", None),
        ("PATCH", "jwt", "Change an order's status", None),
    ),
    *_resource(
        "notifications",
        "/notifications",
        ("GET", "jwt", "The caller's notifications, newest first", None),
    ),
)


def routes_of(function: str) -> tuple[Route, ...]:
    """The routes a function serves."""
    return tuple(route for route in ROUTES if route.function == function)
