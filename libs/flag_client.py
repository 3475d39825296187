"""Feature flags as AWS AppConfig serves them: read through AppConfig Data, cached, never failing.

A container opens one configuration session and keeps its token; AppConfig says how long to wait
before asking again (``NextPollIntervalInSeconds``), and until then the last values answer. Where
no AppConfig is configured (locally, in tests) the declared defaults apply; where it cannot be
read, the last values (or the defaults) stay, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

from libs.aws_clients import AwsClients
from libs.config import Settings
from libs.resources.feature_flags import FeatureFlags

# After a failed read, the last values serve this long before AppConfig is asked again.
RETRY_AFTER_ERROR_SECONDS: Final = 30.0

log = logging.getLogger(__name__)


class FlagsLocation(msgspec.Struct, frozen=True):
    """Where AppConfig keeps the flags: application, environment and profile (ids or names)."""

    application: str
    environment: str
    profile: str

    @classmethod
    def of(cls, settings: Settings) -> FlagsLocation | None:
        """The location the function's environment names; None when it names none."""
        parts = (settings.flags_application, settings.flags_environment, settings.flags_profile)
        return cls(*parts) if all(parts) else None


class AppConfigDataClients(AwsClients):
    """The container's clients, plus AppConfig Data's (used only where flags are deployed)."""

    async def appconfigdata(self) -> Any:
        """The AppConfig Data client."""
        return await self._client("appconfigdata")


class FlagClient:
    """The feature flags of this container, refreshed no more often than AppConfig asks."""

    def __init__(
        self,
        location: FlagsLocation | None,
        connect: Callable[[], Awaitable[Any]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``connect``: returns the AppConfig Data client (needed only with a ``location``)."""
        if location is not None and connect is None:
            raise ValueError("reading flags from AppConfig needs an AppConfig Data client")
        self.location = location
        self._connect = connect
        self._clock = clock
        self._values = FeatureFlags()  # the declared defaults, until AppConfig says otherwise
        self._token: str | None = None
        self._fresh_until = -math.inf
        self._lock: asyncio.Lock | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FlagClient:
        """A client for the flags the function's environment names (the defaults if none)."""
        location = FlagsLocation.of(settings)
        if location is None:
            return cls(None)
        return cls(location, AppConfigDataClients().appconfigdata)

    async def current(self) -> FeatureFlags:
        """The flags now: cached values while fresh, else AppConfig's latest."""
        if self.location is None or self._clock() < self._fresh_until:
            return self._values
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # a token is good for one call: one refresh at a time
            if self._clock() >= self._fresh_until:
                await self._refresh(self.location)
        return self._values

    async def _refresh(self, location: FlagsLocation) -> None:
        assert self._connect is not None
        try:
            client = await self._connect()
            if self._token is None:
                session = await client.start_configuration_session(
                    ApplicationIdentifier=location.application,
                    EnvironmentIdentifier=location.environment,
                    ConfigurationProfileIdentifier=location.profile,
                )
                self._token = session["InitialConfigurationToken"]
            latest = await client.get_latest_configuration(ConfigurationToken=self._token)
            self._token = latest["NextPollConfigurationToken"]
            content = await latest["Configuration"].read()
            if content:  # empty when nothing changed since the last poll
                self._values = msgspec.json.decode(content, type=FeatureFlags)
            self._fresh_until = self._clock() + latest["NextPollIntervalInSeconds"]
        except (BotoCoreError, ClientError, msgspec.DecodeError) as error:
            # A fresh session next time: the token may be spent or expired.
            self._token = None
            self._fresh_until = self._clock() + RETRY_AFTER_ERROR_SECONDS
            log.warning("feature flags unreadable, keeping %s: %r", self._values, error)
