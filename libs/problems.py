"""RFC 9457 problem details: every 4xx/5xx body the services return."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Stable `type` URIs: clients switch on these, never on `title` or `detail`.
TYPE_BASE = "https://serverless-blueprint.dev/problems/"


class InvalidParam(msgspec.Struct, frozen=True):
    """One rejected field: where it is (JSON path) and why."""

    name: str
    reason: str


class Problem(msgspec.Struct, omit_defaults=True, rename="camel"):
    """The problem+json document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None
    correlation_id: str | None = None


class ProblemError(Exception):
    """An error that becomes a problem+json response; subclasses fix status and type."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"
    # A refusal an operator asked for (a paused feature), not a fault: logged as a warning.
    planned: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        invalid_params: list[InvalidParam] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.invalid_params = invalid_params
        self.headers = headers or {}

    def to_problem(
        self, *, instance: str | None = None, correlation_id: str | None = None
    ) -> Problem:
        """The problem document for this error."""
        return Problem(
            type=TYPE_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            invalid_params=self.invalid_params,
            correlation_id=correlation_id,
        )


class MalformedJson(ProblemError):
    """The body is not JSON (or not UTF-8)."""

    status, slug, title = 400, "malformed-json", "Malformed JSON body"


class BadRequest(ProblemError):
    """A request that cannot be understood, e.g. an invalid cursor."""

    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    """Missing or invalid credentials."""

    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ProblemError):
    """Authenticated, but not allowed to do this."""

    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    """No such resource, or not the caller's."""

    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(ProblemError):
    """The path exists but not with this method."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(ProblemError):
    """The request conflicts with the resource's current state."""

    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    """The body is over the configured limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    """The body is not declared as JSON."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(ProblemError):
    """The body or query is well-formed JSON but breaks the schema."""

    status, slug, title = 422, "validation-failed", "Validation failed"


class TooManyRequests(ProblemError):
    """The caller, or a dependency on its behalf, is being throttled; retry after a while."""

    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(ProblemError):
    """A dependency is unavailable or throttling; the client may retry."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"


class DependencyUnavailable(ServiceUnavailable):
    """An AWS endpoint refused or dropped the connection; the client may retry."""

    status, slug, title = 503, "dependency-unavailable", "Dependency unavailable"


class DependencyTimeout(ProblemError):
    """An AWS endpoint did not answer within the time the invocation had left; retry later."""

    status, slug, title = 504, "dependency-timeout", "Dependency timed out"


def problem_body(problem: Problem) -> bytes:
    """Encode a problem document."""
    return msgspec.json.encode(problem)


def decode_problem(body: bytes | str) -> dict[str, Any]:
    """Decode a problem document (for clients and tests)."""
    result: dict[str, Any] = msgspec.json.decode(body)
    return result


class UserNotConfirmed(ProblemError):
    """The credentials are right but the registration was never confirmed."""

    status, slug, title = 403, "user-not-confirmed", "User not confirmed"


class InvalidCode(ProblemError):
    """A confirmation or password reset code is wrong, expired or already used."""

    status, slug, title = 400, "invalid-code", "Invalid or expired code"


class OrderingPaused(ProblemError):
    """New orders are switched off (the ``orders.enabled`` feature flag); retry later."""

    status, slug, title = 503, "ordering-paused", "Ordering paused"
    planned = True


class OrderRefused(ValidationFailed):
    """An order valid by the schema that the catalog or the order rules refuse.

    A product the catalog lacks or a line naming one twice, products priced in different
    currencies, or more lines than the ``orders`` feature flag allows now; ``invalidParams``
    names each offending field.
    """

    status, slug, title = 422, "order-refused", "Order refused"
