"""The runtime of an HTTP API function: one event loop and one set of clients per container.

Lambda calls the plain ``handler(event, context)``; it drives the async Powertools resolver on a
loop created on the first invocation and kept for the container's life, so connections opened by
one invocation serve the next.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    HTTPClientError,
    ReadTimeoutError,
)

from libs import json_patterns
from libs.caller import caller_of
from libs.config import settings
from libs.container_loop import snapshot_hooks
from libs.init_phase import end_init
from libs.json_api import problem_response
from libs.lambda_function import LambdaFunction
from libs.origin_check import OriginCheck
from libs.problems import (
    PROBLEM_CONTENT_TYPE,
    DependencyTimeout,
    DependencyUnavailable,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    problem_body,
)
from libs.resources.api_routes import Route, routes_of
from libs.resources.functions import FUNCTIONS
from libs.resources.metrics import FAILURES_OF_ROUTE, MetricDeclaration, metrics_namespace

RouteHandler = TypeVar("RouteHandler", bound=Callable[..., Awaitable[Response[str]]])
T = TypeVar("T")

_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_SAFE_CORRELATION_ID = re.compile(json_patterns.CORRELATION_ID)
# AWS error codes that mean "try again shortly": answered 503 with Retry-After, not 500.
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalServerError",
        "TransactionInProgressException",
    }
)
RETRY_AFTER_SECONDS = "1"
# Time kept back from Lambda's timeout to answer 504 ourselves instead of being killed (a 500).
DEADLINE_MARGIN_SECONDS = 1.0
# Most requests add no business metric; Powertools warns about each such flush.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class HttpFunction(LambdaFunction):
    """A service's HTTP API function: routes from the declaration, problem+json errors."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.app = APIGatewayHttpResolver()
        self._declared: dict[str, Route] = {route.route_key: route for route in routes_of(service)}
        self._registered: set[str] = set()
        self._origin = OriginCheck.from_settings(settings())  # prod: only CloudFront's requests
        self._correlation_id: str | None = None
        self._register_error_handlers()
        self._register_method_not_allowed()
        snapshot_hooks(self._before_snapshot, self._after_restore)

    def _before_snapshot(self) -> None:
        # The snapshot then holds the clients: models parsed, endpoints resolved, TLS set up.
        declared = FUNCTIONS.get(self.service)
        self.run(self.clients.prime(declared.aws_services if declared else ()))
        end_init(collect=True)

    def _after_restore(self) -> None:
        self.run(self.clients.reconnect())

    # -- routes ------------------------------------------------------------------------------

    def route(self, route_key: str) -> Callable[[RouteHandler], RouteHandler]:
        """Register the handler of a declared route, e.g. ``@api.route("GET /orders")``."""
        try:
            declared = self._declared[route_key]
        except KeyError:
            raise LookupError(f"{route_key} is not declared for {self.service}") from None

        def register(func: RouteHandler) -> RouteHandler:
            @functools.wraps(func)
            async def guarded(**path_parameters: str) -> Response[str]:
                if declared.group is not None:
                    caller = caller_of(self.app.current_event)
                    if not caller.in_group(declared.group):
                        raise Forbidden(f"Only members of {declared.group} may do this")
                return await func(**path_parameters)

            self.app.route(declared.powertools_rule, method=declared.method)(guarded)
            self._registered.add(route_key)
            return func

        return register

    @property
    def unregistered_routes(self) -> set[str]:
        """Declared routes of this service that have no handler (should be empty)."""
        return {key for key, route in self._declared.items() if route.method != "ANY"} - (
            self._registered
        )

    def _register_method_not_allowed(self) -> None:
        by_path: dict[str, set[str]] = {}
        for route in self._declared.values():
            by_path.setdefault(route.powertools_rule, set())
            if route.method != "ANY":
                by_path[route.powertools_rule].add(route.method)
        for rule, allowed in by_path.items():
            others = [method for method in _HTTP_METHODS if method not in allowed]
            allow = ", ".join(sorted(allowed))

            async def method_not_allowed(allow: str = allow, **_: str) -> Response[str]:
                raise MethodNotAllowed(f"Allowed methods: {allow}", headers={"Allow": allow})

            self.app.route(rule, method=others)(method_not_allowed)

    # -- errors ------------------------------------------------------------------------------

    def _register_error_handlers(self) -> None:
        self.app.exception_handler(ProblemError)(self._problem)
        self.app.exception_handler(ClientError)(self._aws_error)
        # Lookup follows the MRO: the timeouts win over their ConnectionError/HTTPClientError bases.
        self.app.exception_handler([ReadTimeoutError, ConnectTimeoutError, TimeoutError])(
            self._timed_out
        )
        self.app.exception_handler([ConnectionError, HTTPClientError])(self._unavailable)
        self.app.exception_handler(Exception)(self._unhandled)
        self.app.not_found(self._not_found)

    def _problem(self, error: ProblemError) -> Response[str]:
        event = self.app.current_event
        problem = error.to_problem(instance=event.raw_path, correlation_id=self._correlation_id)
        if error.status >= 500 and error.planned:
            self.logger.warning("request refused as configured", extra={"problem": error.slug})
        elif error.status >= 500:
            self.logger.error("request failed", extra={"problem": error.slug})
        return problem_response(problem, error.headers)

    def _aws_error(self, error: ClientError) -> Response[str]:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE_CODES:
            self.logger.warning("AWS asked to retry", extra={"aws_error": code})
            return self._problem(
                ServiceUnavailable(
                    "A dependency is busy; retry shortly",
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                )
            )
        return self._unhandled(error)

    def _unavailable(self, error: Exception) -> Response[str]:
        self.logger.warning("dependency unreachable", extra={"error": type(error).__name__})
        return self._problem(
            DependencyUnavailable(
                "A dependency is unreachable; retry shortly",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        )

    def _timed_out(self, error: Exception) -> Response[str]:
        self.logger.warning("dependency timed out", extra={"error": type(error).__name__})
        return self._problem(_dependency_timeout())

    def _unhandled(self, error: Exception) -> Response[str]:
        # The details go to the log, never to the client.
        self.logger.exception("unhandled error")
        return self._problem(ProblemError("The request could not be completed"))

    def _not_found(self, _: Exception) -> Response[str]:
        # Any other method (HEAD, TRACE, QUERY, ...) reaches a path through its ANY route: 405.
        path = self.app.current_event.path
        allowed = sorted(
            route.method
            for route in self._declared.values()
            if route.method != "ANY" and route.match(path) is not None
        )
        if allowed:
            allow = ", ".join(allowed)
            return self._problem(
                MethodNotAllowed(f"Allowed methods: {allow}", headers={"Allow": allow})
            )
        return self._problem(NotFound("No such route"))

    # -- metrics -----------------------------------------------------------------------------

    def count(self, metric: MetricDeclaration, value: float = 1) -> None:
        """Add ``value`` to a declared metric of this service, flushed with the invocation."""
        self.metrics.add_metric(name=metric.name, unit=MetricUnit.Count, value=value)

    def measure(self, metric: MetricDeclaration, value: float, **dimensions: str) -> None:
        """One data point of a declared metric with dimensions of its own (e.g. a currency)."""
        with single_metric(
            name=metric.name,
            unit=MetricUnit.Count,
            value=value,
            namespace=metrics_namespace(self.service),
            default_dimensions={"service": self.service, **dimensions},
        ):
            pass  # written when the block ends

    def log_context(self, **keys: str) -> None:
        """Add ``keys`` (``order_id=...``) to every later log line of the request being handled."""
        self.logger.append_keys(**keys)

    @property
    def correlation_id(self) -> str | None:
        """The correlation id of the request being handled."""
        return self._correlation_id

    # -- invocation --------------------------------------------------------------------------

    async def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Resolve one payload-2.0 request to its route's answer (problem+json on errors)."""
        started = time.perf_counter()
        headers = event.get("headers") or {}
        request_id = (event.get("requestContext") or {}).get("requestId") or context.aws_request_id
        supplied = headers.get("x-correlation-id", "")
        correlation_id = supplied if _SAFE_CORRELATION_ID.match(supplied) else request_id
        self._correlation_id = correlation_id
        self.logger.set_correlation_id(correlation_id)
        user_id = _verified_user_id(event)
        if user_id:  # every line of an authenticated request names its user
            self.log_context(user_id=user_id)
        try:
            async with asyncio.timeout(_time_budget(context)):
                refusal = await self._origin.refusal(event, correlation_id)
                response = refusal or await self.app.resolve_async(event, context)
        except TimeoutError:
            # The deadline cancelled the work (a pending AWS call included): answer in time.
            self.logger.warning("deadline reached", extra={"route": event.get("routeKey")})
            timeout = _dependency_timeout()
            document = timeout.to_problem(
                instance=event.get("rawPath"), correlation_id=correlation_id
            )
            response = {
                "statusCode": timeout.status,
                "headers": {"Content-Type": PROBLEM_CONTENT_TYPE, **timeout.headers},
                "body": problem_body(document).decode(),
                "isBase64Encoded": False,
            }
        response.setdefault("headers", {})["x-correlation-id"] = correlation_id
        self.logger.info(
            "request handled",
            extra={
                "route": event.get("routeKey"),
                "status": response.get("statusCode"),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        failure = FAILURES_OF_ROUTE.get(event.get("routeKey", ""))
        if failure is not None and response.get("statusCode", 500) >= 500:
            self.count(failure)
        return response


def _dependency_timeout() -> DependencyTimeout:
    return DependencyTimeout(
        "A dependency did not answer in time; retry shortly",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _verified_user_id(event: dict[str, Any]) -> str | None:
    """The ``sub`` of the JWT the gateway verified, if the route is protected."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def _time_budget(context: LambdaContext) -> float | None:
    """Seconds the invocation may work before it must answer; None without a Lambda deadline."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return None
    remaining_seconds: float = remaining_ms() / 1000
    return max(0.0, remaining_seconds - DEADLINE_MARGIN_SECONDS)
