"""Settings a function reads from its environment, named once for the stacks and the emulator."""

from __future__ import annotations

import os
from functools import cache

import msgspec

# Environment variable names, shared by the CDK functions stack and the emulator's function pool.
TABLE_NAME = "TABLE_NAME"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
USER_POOL_ID = "USER_POOL_ID"
USER_POOL_CLIENT_ID = "USER_POOL_CLIENT_ID"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
# Notifications: ``local`` (record and log) or ``aws`` (SES and SNS), and the SES From address.
NOTIFICATION_CHANNELS = "NOTIFICATION_CHANNELS"
NOTIFICATION_SENDER = "NOTIFICATION_SENDER"
# Where AppConfig serves the feature flags (ids or names); unset locally: the declared defaults.
FLAGS_APPLICATION = "FEATURE_FLAGS_APPLICATION"
FLAGS_ENVIRONMENT = "FEATURE_FLAGS_ENVIRONMENT"
FLAGS_PROFILE = "FEATURE_FLAGS_PROFILE"
# The secret CloudFront sends as X-Origin-Verify; set only where CloudFront fronts the API.
ORIGIN_VERIFY_SECRET_ARN = "ORIGIN_VERIFY_SECRET_ARN"  # noqa: S105 (a variable name)
# The KMS key whose data keys seal personal fields; set for the functions that read or write them.
PII_KEY_ARN = "PII_KEY_ARN"

DEFAULT_MAX_BODY_BYTES = 64 * 1024


# Records in the functions' import path are msgspec Structs, not dataclasses: defining one costs
# ~0.02 ms instead of ~0.9 ms, and every Lambda cold start pays for each.
class Settings(msgspec.Struct, frozen=True):
    """A function's configuration, read once per container."""

    table_name: str
    event_bus_name: str
    user_pool_id: str
    user_pool_client_id: str
    max_body_bytes: int
    flags_application: str = ""
    flags_environment: str = ""
    flags_profile: str = ""
    origin_verify_secret_arn: str = ""
    pii_key_arn: str = ""


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
        flags_application=env.get(FLAGS_APPLICATION, ""),
        flags_environment=env.get(FLAGS_ENVIRONMENT, ""),
        flags_profile=env.get(FLAGS_PROFILE, ""),
        origin_verify_secret_arn=env.get(ORIGIN_VERIFY_SECRET_ARN, ""),
        pii_key_arn=env.get(PII_KEY_ARN, ""),
    )
