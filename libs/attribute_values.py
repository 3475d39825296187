"""DynamoDB responses parsed with their attribute values taken as they come over the wire.

botocore parses every attribute value of every item as a structure of ten optional members,
asking for each in turn: on a page of 20 products, about a third of the SDK's time for the call.
Except for binary values (base64 on the wire, bytes once parsed), an attribute value parses to
exactly the JSON it arrived as, so the parser here keeps such values as they are and leaves
binary values, and any member it does not know, to botocore.
"""

from __future__ import annotations

from typing import Any, Final, cast

from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory

# The members of DynamoDB's AttributeValue whose parsed form is their JSON form.
_AS_SENT: Final = frozenset({"S", "N", "BOOL", "NULL", "SS", "NS", "M", "L"})
_ALL_MEMBERS: Final = _AS_SENT | {"B", "BS"}


def as_sent(value: Any) -> Any | None:
    """``value`` (an AttributeValue's JSON) when botocore would parse it to itself, else None."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind == "S" or kind == "N":
        return value if type(inner) is str else None
    if kind == "BOOL":
        return value if type(inner) is bool else None
    if kind == "NULL":
        return value if inner is True else None
    if kind == "SS" or kind == "NS":
        if type(inner) is list and all(type(member) is str for member in inner):
            return value
        return None
    if kind == "M" and type(inner) is dict:
        return value if all(as_sent(member) is not None for member in inner.values()) else None
    if kind == "L" and type(inner) is list:
        return value if all(as_sent(member) is not None for member in inner) else None
    return None


def _is_attribute_value(shape: Any) -> bool:
    return bool(
        shape.type_name == "structure"
        and shape.name == "AttributeValue"
        and shape.members.keys() == _ALL_MEMBERS
    )


class AttributeValuesAsSent(AioJSONParser):
    """aiobotocore's JSON parser, taking a DynamoDB item (a map of attribute values) as sent."""

    def _botocore(self) -> Any:
        # botocore's own handlers (private, so absent from its type stubs)
        return super()

    def _handle_map(self, shape: Any, value: Any) -> Any:
        if (
            _is_attribute_value(shape.value)
            and type(value) is dict
            and all(as_sent(member) is not None for member in value.values())
        ):
            return value
        return self._botocore()._handle_map(shape, value)

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if _is_attribute_value(shape):
            sent = as_sent(value)
            if sent is not None:
                return sent
        return self._botocore()._handle_structure(shape, value)


class ResponseParsers(AioResponseParserFactory):
    """aiobotocore's parser factory, with ``AttributeValuesAsSent`` for the JSON protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return AttributeValuesAsSent(**cast(Any, self)._defaults)
        return super().create_parser(protocol_name)
