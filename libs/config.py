"""Settings a function reads from its environment, named once for the stacks and the emulator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

# Environment variable names, shared by the CDK functions stack and the emulator's function pool.
TABLE_NAME = "TABLE_NAME"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
USER_POOL_ID = "USER_POOL_ID"
USER_POOL_CLIENT_ID = "USER_POOL_CLIENT_ID"
MAX_BODY_BYTES = "MAX_BODY_BYTES"

DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """A function's configuration, read once per container."""

    table_name: str
    event_bus_name: str
    user_pool_id: str
    user_pool_client_id: str
    max_body_bytes: int


@cache
def settings() -> Settings:
    """The settings of this container (environment read on first use)."""
    env = os.environ
    return Settings(
        table_name=env.get(TABLE_NAME, ""),
        event_bus_name=env.get(EVENT_BUS_NAME, ""),
        user_pool_id=env.get(USER_POOL_ID, ""),
        user_pool_client_id=env.get(USER_POOL_CLIENT_ID, ""),
        max_body_bytes=int(env.get(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)),
    )
