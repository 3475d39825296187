"""The feature-flag client: AppConfig's values, cached as long as AppConfig asks, defaults else."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from botocore.exceptions import ClientError

from libs.config import Settings
from libs.flag_client import RETRY_AFTER_ERROR_SECONDS, FlagClient, FlagsLocation
from libs.resources.feature_flags import FeatureFlags, OrderFlags

LOCATION = FlagsLocation(application="app", environment="prod", profile="flags")


class Body:
    """The streaming body of GetLatestConfiguration."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def read(self) -> bytes:
        return self.content


class FakeAppConfigData:
    """Serves ``contents`` in turn (b"" means unchanged), checking that each token is used once."""

    def __init__(self, *contents: bytes | Exception, poll_seconds: int = 60) -> None:
        self.contents = list(contents)
        self.poll_seconds = poll_seconds
        self.sessions = 0
        self.polls = 0
        self.used: set[str] = set()

    async def start_configuration_session(self, **identifiers: str) -> dict[str, Any]:
        assert identifiers == {
            "ApplicationIdentifier": "app",
            "EnvironmentIdentifier": "prod",
            "ConfigurationProfileIdentifier": "flags",
        }
        self.sessions += 1
        return {"InitialConfigurationToken": f"s{self.sessions}-0"}

    async def get_latest_configuration(self, ConfigurationToken: str) -> dict[str, Any]:
        assert ConfigurationToken not in self.used, "a token is good for one call"
        self.used.add(ConfigurationToken)
        self.polls += 1
        content = self.contents.pop(0)
        if isinstance(content, Exception):
            raise content
        return {
            "NextPollConfigurationToken": f"{ConfigurationToken}-{self.polls}",
            "NextPollIntervalInSeconds": self.poll_seconds,
            "Configuration": Body(content),
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def flags_json(max_items: int) -> bytes:
    return msgspec.json.encode({"orders": {"enabled": True, "maxItemsPerOrder": max_items}})


def settings_naming(application: str = "", environment: str = "", profile: str = "") -> Settings:
    return Settings(
        table_name="table",
        event_bus_name="bus",
        user_pool_id="pool",
        user_pool_client_id="client",
        max_body_bytes=1024,
        flags_application=application,
        flags_environment=environment,
        flags_profile=profile,
    )


def a_client(appconfig: FakeAppConfigData, clock: Clock) -> FlagClient:
    async def connect() -> FakeAppConfigData:
        return appconfig

    return FlagClient(LOCATION, connect, clock=clock)


async def test_without_appconfig_the_declared_defaults_apply() -> None:
    # Given a function environment that names no AppConfig profile (as locally)
    client = FlagClient.from_settings(settings_naming())
    # Then the flags are the declared defaults
    assert client.location is None
    assert await client.current() == FeatureFlags()
    assert (await client.current()).orders.max_items_per_order == 50


def test_the_location_needs_all_three_identifiers() -> None:
    assert FlagsLocation.of(settings_naming("app", "prod", "flags")) == LOCATION
    assert FlagsLocation.of(settings_naming("app", "", "flags")) is None


async def test_values_are_cached_for_the_poll_interval_appconfig_gives() -> None:
    # Given AppConfig serving a limit of 25, then (a poll later) 10
    appconfig = FakeAppConfigData(flags_json(25), flags_json(10), poll_seconds=45)
    clock = Clock()
    client = a_client(appconfig, clock)
    # When the flags are read, and read again before the interval is over
    assert (await client.current()).orders == OrderFlags(max_items_per_order=25)
    clock.now += 44
    assert (await client.current()).orders.max_items_per_order == 25
    # Then AppConfig was asked once; once the interval is over it is asked with the next token
    assert appconfig.polls == 1
    clock.now += 1
    assert (await client.current()).orders.max_items_per_order == 10
    assert (appconfig.sessions, appconfig.polls) == (1, 2)


async def test_an_unchanged_configuration_keeps_the_values() -> None:
    appconfig = FakeAppConfigData(flags_json(25), b"")
    clock = Clock()
    client = a_client(appconfig, clock)
    await client.current()
    clock.now += 60
    assert (await client.current()).orders.max_items_per_order == 25
    assert appconfig.polls == 2


async def test_an_error_keeps_the_last_values_warns_and_starts_a_new_session_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given AppConfig that served 25, then fails once, then serves 20
    refused = ClientError({"Error": {"Code": "BadRequestException"}}, "GetLatestConfiguration")
    appconfig = FakeAppConfigData(flags_json(25), refused, flags_json(20))
    clock = Clock()
    client = a_client(appconfig, clock)
    await client.current()
    clock.now += 60
    # When the failing poll happens
    with caplog.at_level(logging.WARNING, logger="libs.flag_client"):
        flags = await client.current()
    # Then the last values stay and a warning says why
    assert flags.orders.max_items_per_order == 25
    assert "feature flags unreadable" in caplog.text
    # And after the retry delay a new session reads the current values
    clock.now += RETRY_AFTER_ERROR_SECONDS
    assert (await client.current()).orders.max_items_per_order == 20
    assert appconfig.sessions == 2


async def test_values_outside_the_declared_limits_fall_back_to_the_defaults() -> None:
    appconfig = FakeAppConfigData(flags_json(500))
    client = a_client(appconfig, Clock())
    assert await client.current() == FeatureFlags()
