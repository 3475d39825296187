"""The local HTTP API: API Gateway's routing, JWT authorizer and payload format 2.0 on aiohttp."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import unquote

import msgspec
from aiohttp import hdrs, web, web_urldispatcher

from emulator.api_docs import add_api_docs
from emulator.function_pool import ACCOUNT_ID, FunctionError
from emulator.jwt_authorizer import JwtAuthorizer, Unauthorized, gateway_claims
from libs.resources.api_routes import ROUTES, Route

# API Gateway's own limits: a 10 MB request payload, a 30 s wait for the integration.
MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS: Final = 30.0
# API Gateway's quota on the request line and header values together; a larger request is a 431.
MAX_REQUEST_HEAD_BYTES: Final = 10240
# Lambda's synchronous invocation payload: an event over it never reaches the function.
MAX_EVENT_BYTES: Final = 6 * 1024 * 1024
# aiohttp's own parser limits, set above the quota so the gateway answers as API Gateway does.
_PARSER_LIMITS: Final[dict[str, Any]] = {
    "max_line_size": 65536,
    "max_field_size": 65536,
    "max_headers": 1024,
}
DEFAULT_API_ID: Final = "local"

# Bodies API Gateway passes as text; it base64-encodes every other one, including a missing
# content type and form posts (observed against AWS; the documentation lists none).
_TEXT_TYPES: Final = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_PARAMETER: Final = re.compile(r"\{(\w+)\}")

log = logging.getLogger(__name__)


class Function(Protocol):
    """What the gateway invokes: a FunctionPool, or a stand-in in tests."""

    async def invoke(self, event: Any) -> Any:
        """The function's result for ``event``; raises FunctionError when it fails."""
        ...


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route a request resolved to, with its decoded path parameters."""

    route: Route
    path_parameters: dict[str, str]


class RouteTable:
    """Routes compiled once and matched as API Gateway does.

    The most specific path wins (a static segment beats a ``{parameter}``, left to right); on
    that path an exact method beats ``ANY``.
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        methods_by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            methods_by_path.setdefault(route.path, {})[route.method] = route
        self._paths = [
            (_path_pattern(path), methods_by_path[path])
            for path in sorted(methods_by_path, key=_specificity)
        ]

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route for ``method`` on ``raw_path`` (still percent-encoded), or None."""
        for pattern, methods in self._paths:
            found = pattern.match(raw_path)
            if found is None:
                continue
            route = methods.get(method) or methods.get("ANY")
            if route is not None:
                parameters = {name: unquote(value) for name, value in found.groupdict().items()}
                return RouteMatch(route, parameters)
        return None


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """The identity the local API reports in ``requestContext``."""

    api_id: str = DEFAULT_API_ID
    account_id: str = ACCOUNT_ID


@dataclass(frozen=True, slots=True)
class _Gateway:
    routes: RouteTable
    functions: Mapping[str, Function]
    authorizer: JwtAuthorizer | None
    settings: GatewaySettings


_CONTINUE: Final = web_urldispatcher._default_expect_handler
_GATEWAY: Final = web.AppKey("gateway", _Gateway)


def build_gateway(
    pools: Mapping[str, Function],
    authorizer: JwtAuthorizer | None,
    *,
    routes: Iterable[Route] = ROUTES,
    settings: GatewaySettings | None = None,
) -> web.Application:
    """The HTTP API as an aiohttp application serving ``routes`` through ``pools`` (by service)."""
    # aiohttp refuses larger bodies itself, and the gateway turns that into API Gateway's 413.
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app[_GATEWAY] = _Gateway(RouteTable(routes), pools, authorizer, settings or GatewaySettings())
    add_api_docs(app, routes)  # GET /openapi.json and /docs, matched before the API's routes
    # [\s\S], not `.`: a path with an encoded line break is API Gateway's to route, too.
    app.router.add_route("*", "/{tail:[\\s\\S]*}", _handle, expect_handler=_expect_continue)
    return app


async def _expect_continue(request: web.Request) -> None:
    """Answer ``Expect: 100-continue``; ignore any other expectation, as RFC 9110 allows.

    aiohttp's default refuses an unknown one with a bare-text 417 no route documents.
    """
    if request.headers.get("expect", "").lower() == "100-continue":
        await _CONTINUE(request)


async def serve_gateway(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0 picks a free port); the runner and the bound port."""
    # lingering_time: after an early 413 aiohttp drains the unread body before closing, 10 s by
    # default, which a local client on loopback never needs (and shutdown would wait for).
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, lingering_time=1.0, **_PARSER_LIMITS
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port: int = runner.addresses[0][1]
    return runner, bound_port


def build_event(
    request: web.Request,
    body: bytes,
    match: RouteMatch,
    *,
    request_id: str,
    authorizer: dict[str, Any] | None = None,
    settings: GatewaySettings | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends the function for ``request``."""
    settings = settings or GatewaySettings()
    now = time.time() if now is None else now
    headers, cookies = _headers_and_cookies(request)
    host = headers.get("host", "")
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    raw_path = request.rel_url.raw_path
    route_key = match.route.route_key
    context: dict[str, Any] = {
        "accountId": settings.account_id,
        "apiId": settings.api_id,
        "domainName": host,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
            "sourceIp": _source_ip(request),
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _clf_time(now),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = {"jwt": authorizer}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.rel_url.raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _joined(request.rel_url.query.items())
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    event["requestContext"] = context
    if body:
        text = _as_text(body, request.headers.get(hdrs.CONTENT_TYPE))
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def http_response(result: Any) -> web.Response:
    """The HTTP response API Gateway makes of a function's payload 2.0 result."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # API Gateway's inference for a result without a status code: 200 and JSON.
        inferred = result.encode() if isinstance(result, str) else msgspec.json.encode(result)
        return web.Response(body=inferred, headers={hdrs.CONTENT_TYPE: "application/json"})
    status = int(result["statusCode"])
    headers = [(name, _header_value(value)) for name, value in result.get("headers", {}).items()]
    # Payload 2.0 has no multiValueHeaders: API Gateway ignores them, so the gateway does too.
    headers += [(hdrs.SET_COOKIE, cookie) for cookie in result.get("cookies", [])]
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError(f"body must be a string, not {type(body).__name__}")
    payload = (
        base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode()
    )
    return web.Response(status=status, headers=headers, body=payload)


def message_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """API Gateway's own answer: ``{"message":...}`` as compact JSON."""
    return web.Response(
        status=status,
        body=msgspec.json.encode({"message": message}),
        headers={hdrs.CONTENT_TYPE: "application/json", **(headers or {})},
    )


def new_request_id() -> str:
    """An identifier shaped like API Gateway's (``apigw-requestid``)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode()


async def _handle(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = new_request_id()
    response = await _respond(request, request_id)
    response.headers["apigw-requestid"] = request_id
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1fms", request.method, request.path_qs, response.status, elapsed_ms)
    return response


async def _respond(request: web.Request, request_id: str) -> web.Response:
    if _head_bytes(request) > MAX_REQUEST_HEAD_BYTES:
        return message_response(431, "Request Header Fields Too Large")
    if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
        return _too_large()
    gateway = request.app[_GATEWAY]
    match = gateway.routes.match(request.method, request.rel_url.raw_path)
    if match is None:
        return message_response(404, "Not Found")
    claims = None
    if match.route.auth == "jwt":
        try:
            claims = await _authorize(gateway.authorizer, request)
        except Unauthorized as rejection:
            log.debug("401 for %s: %s", match.route.route_key, rejection)
            return message_response(
                401, "Unauthorized", {hdrs.WWW_AUTHENTICATE: _challenge(request)}
            )
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:  # a chunked body that announced no length
        return _too_large()
    event = build_event(
        request,
        body,
        match,
        request_id=request_id,
        authorizer=claims,
        settings=gateway.settings,
    )
    if len(body) > MAX_EVENT_BYTES // 2 and len(msgspec.json.encode(event)) > MAX_EVENT_BYTES:
        # Lambda refuses the invocation; API Gateway answers with this (as observed on AWS).
        return message_response(413, "Request Too Long")
    function = gateway.functions[match.route.function]
    try:
        async with asyncio.timeout(INTEGRATION_TIMEOUT_SECONDS):
            result = await function.invoke(event)
    except TimeoutError:
        return message_response(503, "Service Unavailable")
    except FunctionError as error:
        # A Lambda timeout is a function error too: API Gateway answers 500 for both.
        log.error("%s failed: %s", match.route.function, error.payload)
        return message_response(500, "Internal Server Error")
    try:
        return http_response(result)
    except (TypeError, ValueError, AttributeError) as error:
        log.error("%s returned a malformed response: %r", match.route.function, error)
        return message_response(500, "Internal Server Error")


def _head_bytes(request: web.Request) -> int:
    line = len(request.method) + len(request.raw_path) + len("  HTTP/1.1")
    return line + sum(
        len(value.encode("utf-8", "surrogateescape")) for value in request.headers.values()
    )


def _too_large() -> web.Response:
    response = message_response(413, "Request Entity Too Large")
    # The rest of the body is still on its way: close rather than read 10 MB to reuse the socket.
    response.force_close()
    return response


async def _authorize(authorizer: JwtAuthorizer | None, request: web.Request) -> dict[str, Any]:
    if authorizer is None:
        raise Unauthorized("no authorizer is configured")
    return gateway_claims(await authorizer.authorize(request.headers.get(hdrs.AUTHORIZATION)))


def _challenge(request: web.Request) -> str:
    if not request.headers.get(hdrs.AUTHORIZATION):
        return "Bearer"
    return 'Bearer scope="" error="invalid_token" error_description="the token is invalid"'


def _headers_and_cookies(request: web.Request) -> tuple[dict[str, str], list[str]]:
    # Payload 2.0 moves cookies out of the headers into a list of their own.
    cookies = [
        cookie.strip()
        for value in request.headers.getall(hdrs.COOKIE, [])
        for cookie in value.split(";")
        if cookie.strip()
    ]
    headers = _joined(
        (name.lower(), value) for name, value in request.headers.items() if name != hdrs.COOKIE
    )
    # What API Gateway adds on its way to the integration.
    source_ip = _source_ip(request)
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
    headers.setdefault("x-forwarded-port", str(_local_port(request)))
    headers.setdefault("x-forwarded-proto", request.scheme)
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
    return headers, cookies


def _joined(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Values of repeated names joined with commas, as API Gateway does."""
    joined: dict[str, str] = {}
    for name, value in items:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _as_text(body: bytes, content_type: str | None) -> str | None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not (media_type.startswith("text/") or media_type in _TEXT_TYPES):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def _source_ip(request: web.Request) -> str:
    return request.remote or "127.0.0.1"


def _local_port(request: web.Request) -> int:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if sockname else 80


def _clf_time(epoch: float) -> str:
    """``12/Mar/2020:19:03:58 +0000``, independent of the process's locale."""
    moment = time.gmtime(epoch)
    clock = time.strftime("%H:%M:%S", moment)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:{clock} +0000"


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path_pattern(path: str) -> re.Pattern[str]:
    segments = [
        f"(?P<{found[1]}>[^/]+)" if (found := _PARAMETER.fullmatch(segment)) else re.escape(segment)
        for segment in path.strip("/").split("/")
    ]
    return re.compile("/" + "/".join(segments) + r"\Z")


def _specificity(path: str) -> tuple[int, ...]:
    return tuple(
        1 if _PARAMETER.fullmatch(segment) else 0 for segment in path.strip("/").split("/")
    )
