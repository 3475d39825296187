"""JSON in and out of API Gateway HTTP API events: typed bodies, typed queries, responses."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from libs.config import settings
from libs.problems import (
    PROBLEM_CONTENT_TYPE,
    InvalidParam,
    MalformedJson,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
    ValidationFailed,
)

JSON_CONTENT_TYPE = "application/json"
_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_FIELD_IN_REASON = re.compile(r"(?:unknown|required) field `(?P<field>[^`]+)`")
_GOT_FLOAT = "got `float`"
_INT64 = 2**63


def invalid_params(error: msgspec.ValidationError, *, prefix: str = "") -> list[InvalidParam]:
    """Turn msgspec's message into a named field: `Expected int - at $.items[0].quantity`."""
    found = _AT_PATH.match(str(error))
    reason = found["reason"] if found else str(error)
    path = (found["path"] or "") if found else ""
    # Unknown and missing fields are reported at their parent object: name the field itself.
    field = _FIELD_IN_REASON.search(reason)
    if field:
        path = f"{path}.{field['field']}"
    name = (prefix + path).lstrip(".") or "body"
    return [InvalidParam(name=name, reason=reason)]


def body_bytes(event: APIGatewayProxyEventV2) -> bytes:
    """The raw request body, base64-decoded when API Gateway encoded it."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedJson("The body is not valid base64") from error
    return raw.encode("utf-8", errors="surrogatepass")


def decode_body[T](event: APIGatewayProxyEventV2, model: type[T]) -> T:
    """Decode and validate the JSON body as ``model`` (400, 413, 415 or 422 on failure)."""
    content_type = (event.headers.get("content-type") or JSON_CONTENT_TYPE).split(";")[0].strip()
    if content_type != JSON_CONTENT_TYPE and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send the body as {JSON_CONTENT_TYPE}, not {content_type}")
    data = body_bytes(event)
    limit = settings().max_body_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"The body is {len(data)} bytes; the limit is {limit}")
    if not data.strip():
        raise MalformedJson("The request needs a JSON body")
    try:  # JSON is UTF-8 (RFC 8259); msgspec does not check strings it is about to reject
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJson(
            f"The body is not UTF-8: {error.reason} at byte {error.start}"
        ) from error
    refuse_duplicate_members(data)
    try:
        try:
            return msgspec.json.decode(data, type=model)
        except msgspec.ValidationError as error:
            if _GOT_FLOAT not in str(error):
                raise
            # JSON Schema's integer is any number without a fraction, so 2.0 is one: read
            # integral numbers as ints, then validate again (the usual body never gets here).
            return msgspec.convert(_INTEGRAL_AS_INT.decode(data), type=model)
    except msgspec.ValidationError as error:
        raise ValidationFailed(
            "The body does not match the schema", invalid_params=invalid_params(error)
        ) from error
    except msgspec.DecodeError as error:
        raise MalformedJson(f"The body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise MalformedJson("The body nests arrays or objects too deeply") from error


def integral_as_int(literal: str) -> int | float:
    """A JSON number with a fraction or exponent: an int when its value is a whole number.

    Only values an int64 holds are converted, so ``1e999999`` costs nothing and stays a float.
    """
    try:
        value = Decimal(literal)
    except InvalidOperation:
        return float(literal)
    if value.is_finite() and value == value.to_integral_value() and abs(value) < _INT64:
        return int(value)
    return float(literal)


def refuse_duplicate_members(data: bytes) -> None:
    """400 for an object that names a member twice, which decoders resolve differently.

    msgspec keeps the last value silently; I-JSON (RFC 7493) forbids duplicates, so the body is
    refused rather than guessed at. Numbers are not converted: only the member names matter.
    """
    try:
        json.loads(
            data,
            object_pairs_hook=_unique_members,
            parse_int=_ignored,
            parse_float=_ignored,
            parse_constant=_ignored,
        )
    except (ValueError, RecursionError):
        return  # not JSON: msgspec's decoder names the error


def _unique_members(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise MalformedJson(f"The body names the member `{name}` twice; send each member once")
        seen.add(name)


def _ignored(_: str) -> None:
    return None


def decode_query[T](event: APIGatewayProxyEventV2, model: type[T]) -> T:
    """Validate the query string as ``model``, converting strings to the declared types."""
    params: Mapping[str, str] = event.query_string_parameters or {}
    try:
        return msgspec.convert(dict(params), type=model, strict=False)
    except msgspec.ValidationError as error:
        raise ValidationFailed(
            "The query string does not match the schema", invalid_params=invalid_params(error)
        ) from error


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> Response[str]:
    """A JSON response whose body msgspec encodes (Structs, lists, dicts)."""
    return Response(
        status_code=status,
        content_type=JSON_CONTENT_TYPE,
        body=msgspec.json.encode(payload).decode(),
        headers=dict(headers or {}),
    )


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response[str]:
    """A response without a body."""
    return Response(status_code=status, body="", headers=dict(headers or {}))


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response[str]:
    """An RFC 9457 problem response."""
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=msgspec.json.encode(problem).decode(),
        headers=dict(headers or {}),
    )


_INTEGRAL_AS_INT = msgspec.json.Decoder(float_hook=integral_as_int)
