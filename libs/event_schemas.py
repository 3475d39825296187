"""JSON Schemas of the events' details, generated from their Structs into ``docs/events/``.

``python -m libs.event_schemas`` rewrites the files; a test fails when they drift from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import msgspec

from libs.domain_events import DomainEvent
from libs.resources.events import EVENT_BUS, EVENTS

SCHEMAS_DIRECTORY: Final = Path(__file__).resolve().parent.parent / "docs" / "events"


def event_schema(event: type[DomainEvent]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of an event's detail, naming its bus, source and detail-type.

    Publishers encode every field, defaults included, so every property is marked required.
    """
    generated = msgspec.json.schema(event)
    for definition in generated.get("$defs", {}).values():
        if "properties" in definition:
            definition["required"] = list(definition["properties"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event.DETAIL_TYPE,
        "description": (event.__doc__ or "").strip(),
        "x-event-bus": EVENT_BUS.name,
        "x-source": event.SOURCE,
        "x-detail-type": event.DETAIL_TYPE,
        "x-schema-version": event.SCHEMA_VERSION,
        **generated,
    }


def schema_documents() -> dict[str, bytes]:
    """Each event's schema file: its name and its content (sorted keys, two-space indent)."""
    return {
        f"{event.DETAIL_TYPE}.json": msgspec.json.format(
            msgspec.json.encode(event_schema(event), order="sorted"), indent=2
        )
        + b"\n"
        for event in EVENTS
    }


def write_schemas(directory: Path = SCHEMAS_DIRECTORY) -> list[Path]:
    """Write every schema file into ``directory``; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in schema_documents().items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_schemas():
        print(f"wrote {written}")
