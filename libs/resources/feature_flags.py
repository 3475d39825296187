"""Feature flags served by AWS AppConfig: their types, limits and each environment's values.

The config stack publishes ``appconfig_document`` (AppConfig's feature-flag format, validated at
synth); a function reads the ``values`` part back and decodes it into ``FeatureFlags``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

# The most lines one order may have anywhere: the request schema's cap. An environment's flag
# may allow fewer.
ORDER_LINES_CAP: Final = 50


class OrderFlags(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """How orders behave."""

    enabled: bool = True
    max_items_per_order: Annotated[int, msgspec.Meta(ge=1, le=ORDER_LINES_CAP)] = ORDER_LINES_CAP


class FeatureFlags(msgspec.Struct, frozen=True, kw_only=True):
    """Every flag, grouped as AppConfig groups them (one flag, several attributes)."""

    orders: OrderFlags = OrderFlags()


FLAGS_BY_ENVIRONMENT: dict[str, FeatureFlags] = {
    "dev": FeatureFlags(orders=OrderFlags(max_items_per_order=ORDER_LINES_CAP)),
    "prod": FeatureFlags(orders=OrderFlags(max_items_per_order=25)),
}


def validated(flags: FeatureFlags) -> FeatureFlags:
    """``flags`` checked against the declared limits (constructing a Struct does not check)."""
    return msgspec.convert(msgspec.to_builtins(flags), FeatureFlags)


def appconfig_document(flags: FeatureFlags) -> dict[str, Any]:
    """The ``AWS.AppConfig.FeatureFlags`` document: definitions with constraints, then values."""
    values: dict[str, Any] = msgspec.to_builtins(validated(flags))
    schema = msgspec.json.schema(FeatureFlags)["$defs"]
    definitions: dict[str, Any] = {}
    for flag, attributes in values.items():
        properties = schema[type(getattr(flags, flag)).__name__]["properties"]
        definitions[flag] = {
            "name": flag,
            "attributes": {
                name: {"constraints": _constraints(properties[name])}
                for name in attributes
                if name != "enabled"
            },
        }
    return {"version": "1", "flags": definitions, "values": values}


def _constraints(schema: dict[str, Any]) -> dict[str, Any]:
    kind = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean"}
    constraints: dict[str, Any] = {"type": kind[schema["type"]], "required": True}
    if "minimum" in schema:
        constraints["minimum"] = schema["minimum"]
    if "maximum" in schema:
        constraints["maximum"] = schema["maximum"]
    return constraints
