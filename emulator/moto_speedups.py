"""Take out per-request work in moto's server whose result never changes, the slow path of its
DynamoDB response serializer, and a new connection per request; answers stay what moto sends.

Measured under load, these were most of the emulator's CPU: every request listed moto's package
directory (with a stat per entry, under a global lock) to find its backend and inspected the
handler class for its method names; every PutEvents rebuilt a JSONPath parser (a PLY grammar)
per input path; every DynamoDB attribute value went through the generic, botocore-model-driven
serializer, which probes all ten members of ``AttributeValue`` (with their aliases) to emit the
one that is there; and werkzeug's server closes every connection, so each SDK call paid for a
new TCP connection and a new server thread. And each item moto stores is sized again for every
attribute added to it (its 400 KB check sums every attribute so far, quadratic in attributes):
three quarters of a put's time; here an item is sized once, when it is whole. And every
comparison and hash of a DynamoDB value (sorting a partition, looking up a key) asks its
``cast_value``, which tests five other types before returning a string as it is: strings and
numbers now take the first branch.

What a page of items costs grows with its items, so each item's share matters: a Query sizes
every item it returns twice (its 1 MB page limit) through five type tests per attribute, copies
every attribute through ``copy.deepcopy``, and serializes each attribute as its own structure.
Strings and numbers are now sized directly, scalar attributes copied without the generic
machinery, and a map of attribute values (an item) written in one pass: a 21-item page costs
about half of moto's time for it.
"""

from __future__ import annotations

import functools
import io
import socket
import threading
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from libs.attribute_values import as_sent

# DynamoDB's AttributeValue members, and those whose wire form is the value itself or strings.
_ATTRIBUTE_VALUE_MEMBERS: Final = frozenset(
    {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
)
# Response headers that say how the body is framed: written here, never copied from the app.
_FRAMING_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "connection"})
# moto's item size limit (DynamoDB's 400 KB, as moto measured it).
_ITEM_LIMIT: Final = 405_000
_PATCH_LOCK = threading.Lock()


def speed_up_moto() -> None:
    """Install the caches and the AttributeValue fast path; idempotent."""
    import jsonpath_ng.ext
    import moto.backends
    import moto.core.responses
    import moto.dynamodb.models.utilities
    import moto.dynamodb.responses
    import moto.moto_server.threaded_moto_server
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    # Module attributes replaced below (typed loosely: they are patched, not called here).
    backends: Any = moto.backends
    responses: Any = moto.core.responses
    jsonpath: Any = jsonpath_ng.ext
    threaded_server: Any = moto.moto_server.threaded_moto_server
    dynamodb_utilities: Any = moto.dynamodb.models.utilities
    dynamodb_responses: Any = moto.dynamodb.responses
    with _PATCH_LOCK:
        if getattr(BaseJSONSerializer._serialize_type_structure, "_emulator_fast", False):
            return
        # The installed backends, a directory listing that cannot change while moto runs.
        backends.list_of_moto_modules = _as_cached_tuple(backends.list_of_moto_modules)
        # A handler class's method names, inspected per request; classes do not change.
        responses.method_names_from_class = functools.cache(responses.method_names_from_class)
        # Parsed JSONPath expressions are immutable; the input paths of a rule never change.
        jsonpath.parse = functools.lru_cache(maxsize=1024)(jsonpath.parse)
        BaseJSONSerializer._serialize_type_structure = _with_attribute_values_direct(  # type: ignore[method-assign]
            BaseJSONSerializer._serialize_type_structure
        )
        BaseJSONSerializer._serialize_type_map = _with_items_direct(  # type: ignore[method-assign]
            BaseJSONSerializer._serialize_type_map
        )
        dynamodb_utilities.dynamo_to_dict = _plain_values_first(dynamodb_utilities.dynamo_to_dict)
        dynamodb_responses.dynamo_to_dict = dynamodb_utilities.dynamo_to_dict
        Item.__init__ = _sized_once(Item.__init__)  # type: ignore[method-assign]
        Item.size = _sizing_inlined(Item.size)  # type: ignore[method-assign,assignment]
        Item.__deepcopy__ = _scalars_shared(Item.__deepcopy__)  # type: ignore[method-assign]
        dynamo_type: Any = DynamoType
        dynamo_type.cast_value = _strings_and_numbers_first(vars(DynamoType)["cast_value"])
        dynamo_type.size = _strings_and_numbers_sized(DynamoType.size)
        # The handler ThreadedMotoServer builds its server with (looked up when it starts).
        threaded_server.MotoRequestHandler = _keeping_alive(threaded_server.MotoRequestHandler)


def _strings_and_numbers_first(cast_value: property) -> property:
    """moto's ``DynamoType.cast_value``, answering strings and numbers before testing for sets,
    lists, maps and null (which a string or a number is not: the same answer)."""
    generic = cast_value.fget
    assert generic is not None

    def fast_cast_value(value: Any) -> Any:
        kind = value.type
        if kind == "S":
            return value.value
        if kind == "N":
            return Decimal(value.value)
        return generic(value)

    return property(fast_cast_value)


def _strings_and_numbers_sized(size: Callable[[Any], int]) -> Callable[[Any], int]:
    """moto's ``DynamoType.size``, sizing strings and numbers before testing for other types
    (the same sizes: a string's UTF-8 bytes, a number's characters)."""

    @functools.wraps(size)
    def fast_size(value: Any) -> int:
        kind, inner = value.type, value.value
        if kind == "S" and type(inner) is str:
            return len(inner.encode())
        if kind == "N":
            return len(str(inner))
        return size(value)

    return fast_size


def _sizing_inlined(size: Callable[[Any], int]) -> Callable[[Any], int]:
    """moto's ``Item.size`` (every attribute's name and value), strings and numbers sized inline."""
    from moto.dynamodb.models.utilities import bytesize

    @functools.wraps(size)
    def item_size(item: Any) -> int:
        total = 0
        for name, value in item.attrs.items():
            kind, inner = value.type, value.value
            if kind == "S" and type(inner) is str:
                value_size = len(inner.encode())
            elif kind == "N":
                value_size = len(str(inner))
            else:
                value_size = value.size()
            total += (len(name.encode()) if type(name) is str else bytesize(name)) + value_size
        return total

    return item_size


def _scalars_shared(deepcopy: Callable[[Any, dict[int, Any]], Any]) -> Callable[..., Any]:
    """moto's ``Item.__deepcopy__``: attributes holding one string, number, boolean or null are
    copied as a new wrapper of the same (immutable) value, as moto's own copy makes them;
    everything else goes through ``copy.deepcopy``."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    new = object.__new__

    def copied(value: Any, memo: dict[int, Any]) -> Any:
        if type(value) is DynamoType and type(value.value) in (str, bool):
            twin = new(DynamoType)
            twin.type, twin.value = value.type, value.value
            return twin
        return copy.deepcopy(value, memo)

    @functools.wraps(deepcopy)
    def shallow_scalars(item: Any, memo: dict[int, Any]) -> Any:
        if type(item.attrs) is not LimitedSizeDict:
            return deepcopy(item, memo)
        result = new(type(item))
        memo[id(item)] = result
        result.hash_key = copied(item.hash_key, memo) if item.hash_key is not None else None
        result.range_key = copied(item.range_key, memo) if item.range_key is not None else None
        attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.update(attrs, {name: copied(value, memo) for name, value in item.attrs.items()})
        result.attrs = attrs
        return result

    return shallow_scalars


def _plain_values_first(to_dict: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's ``dynamo_to_dict`` (a response's DynamoTypes as plain values), walking plain dicts,
    lists and scalars itself: the same result, without four type tests per node of every item.
    Replaces the module's name too, so moto's own recursion comes back here."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    scalars = (str, int, bool, type(None))

    @functools.wraps(to_dict)
    def plain_first(value: Any) -> Any:
        kind = type(value)
        if kind in scalars:
            return value
        if kind is dict:
            return {key: plain_first(member) for key, member in value.items()}
        if kind is list:
            return [plain_first(member) for member in value]
        if kind is DynamoType and value.type not in ("B", "BS"):  # binary: decoded by moto's
            return {value.type: plain_first(value.value)}
        return to_dict(value)

    return plain_first


def _sized_once(init: Callable[..., None]) -> Callable[..., None]:
    """moto's Item constructor, checking the 400 KB item limit once rather than per attribute.

    The same check: moto's sums the sizes of the attributes so far as each is added, so its
    last (largest) sum is the whole item's, which is what is compared here.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    @functools.wraps(init)
    def sized_once(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        item.hash_key = hash_key
        item.range_key = range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > _ITEM_LIMIT:
            raise ItemSizeTooLarge
        item.attrs = LimitedSizeDict()
        dict.update(item.attrs, converted)  # past its per-attribute check: done above, once

    return sized_once


def _as_cached_tuple(function: Callable[[], Any]) -> Callable[[], tuple[str, ...]]:
    @functools.cache
    def cached() -> tuple[str, ...]:
        return tuple(function())

    return cached


def _with_attribute_values_direct(serialize: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(serialize)
    def serialize_structure(
        serializer: Any, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and shape.members.keys() == _ATTRIBUTE_VALUE_MEMBERS
        ):
            wire = as_sent(value)
            if wire is not None:
                serialized[serializer.get_serialized_name(shape, key)] = wire
                return
        serialize(serializer, serialized, value, shape, key)

    serialize_structure._emulator_fast = True  # type: ignore[attr-defined]
    return serialize_structure


def _with_items_direct(serialize: Callable[..., None]) -> Callable[..., None]:
    """moto's JSON map serializer, writing a map of attribute values (an item) in one pass when
    every value has a direct wire form; otherwise moto's own, member by member."""

    @functools.wraps(serialize)
    def serialize_map(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        members = shape.value
        if (
            members.name == "AttributeValue"
            and members.members.keys() == _ATTRIBUTE_VALUE_MEMBERS
            and "name" not in members.serialization
            and isinstance(value, dict)
        ):
            wire = {}
            for name, member in value.items():
                member_wire = as_sent(member)
                if member_wire is None or type(name) is not str:
                    break
                wire[name] = member_wire
            else:
                serialized[serializer.get_serialized_name(shape, key)] = wire
                return
        serialize(serializer, serialized, value, shape, key)

    serialize_map._emulator_fast = True  # type: ignore[attr-defined]
    return serialize_map


def _keeping_alive(handler: type) -> type:
    """moto's request handler, answering on a kept-alive connection when it safely can.

    werkzeug always closes: its handler cannot tell where an unread body ends. Here a request
    whose body length is declared is read whole first, so the connection is ready for the next
    request; anything else (chunked, 100-continue, HEAD, HTTP/1.0) is left to werkzeug.
    """

    class KeepAliveRequestHandler(handler):  # type: ignore[misc]
        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm can hold
            # the body back until the client's delayed ACK (40 ms) on a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            if not self._can_keep_alive():
                super().run_wsgi()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self.environ = environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(body)
            started: list[Any] = []
            chunks: list[bytes] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Callable[[bytes], None]:
                if exc_info is not None and started:
                    raise exc_info[1].with_traceback(exc_info[2])
                started[:] = [status, headers]
                return chunks.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception:
                self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
                self.close_connection = True
                started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
                chunks[:] = [b"Internal Server Error"]
            status, headers = started
            code, _, message = status.partition(" ")
            self.send_response(int(code), message)
            for name, value in headers:
                if name.lower() not in _FRAMING_HEADERS:
                    self.send_header(name, value)
            payload = b"".join(chunks)
            bodiless = int(code) < 200 or int(code) in (204, 304)
            if not bodiless:
                self.send_header("Content-Length", str(len(payload)))
            # Status line, headers and body in one write: each write lets go of the GIL, and
            # under load taking it back can wait out another thread's switch interval.
            self._headers_buffer.append(b"\r\n")
            if payload and not bodiless:
                self._headers_buffer.append(payload)
            self.flush_headers()

        def _can_keep_alive(self) -> bool:
            headers = self.headers
            return (
                self.request_version == "HTTP/1.1"
                and not self.close_connection
                and self.command != "HEAD"
                and "Transfer-Encoding" not in headers
                and "Expect" not in headers
                and (headers.get("Content-Length") or "0").isdigit()
            )

    KeepAliveRequestHandler.__name__ = KeepAliveRequestHandler.__qualname__ = (
        f"KeepAlive{handler.__name__}"
    )
    return KeepAliveRequestHandler
