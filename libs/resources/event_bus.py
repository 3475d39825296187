"""The EventBridge bus the services publish their domain events to."""

from __future__ import annotations

import msgspec


class EventBusDeclaration(msgspec.Struct, frozen=True):
    """A custom event bus."""

    logical_id: str
    name: str


EVENT_BUS = EventBusDeclaration(logical_id="EventBus", name="serverless-blueprint-events")
