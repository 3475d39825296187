"""Origin verification: where CloudFront fronts the API, a request must carry CloudFront's secret.

An HTTP API takes no resource policy, so anyone may call its execute-api URL and skip CloudFront
and its web ACL. CloudFront adds ``X-Origin-Verify`` with a value kept in Secrets Manager; the
functions read that value once per container (again when a mismatch could mean it was rotated)
and refuse other requests with 403. Without a configured secret (dev, locally) all pass.

The secret rotates (``services/origin_secret_rotation``): the new value becomes current first,
then CloudFront is told, and its edges take minutes to follow. So for a while after a rotation
the previous value is admitted too (``ADMIT_PREVIOUS_FOR``, counted from the current value's
creation), and never after.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from libs.aws_clients import AwsClients
from libs.config import Settings
from libs.problems import (
    PROBLEM_CONTENT_TYPE,
    Forbidden,
    ProblemError,
    ServiceUnavailable,
    problem_body,
)

HEADER: Final = "x-origin-verify"  # API Gateway hands header names over in lower case
# A mismatch re-reads the secret at most this often: rotation is picked up, floods are not.
REREAD_AFTER_SECONDS: Final = 300.0
# How often the value rotates, and how long after a rotation the previous one is still admitted
# (CloudFront's change reaches every edge within minutes; a failed update gets a day to be seen,
# as the rotation function's errors alarm, and fixed).
ROTATE_EVERY: Final = timedelta(days=30)
ADMIT_PREVIOUS_FOR: Final = timedelta(hours=24)

log = logging.getLogger(__name__)

# The values admitted now: the current one first.
SecretReader = Callable[[str], Awaitable[tuple[str, ...]]]


class SecretsClients(AwsClients):
    """The container's clients, plus Secrets Manager's (used only behind CloudFront)."""

    async def admitted_values(self, secret_id: str) -> tuple[str, ...]:
        """The current value, and the previous one while the current is younger than the
        overlap a rotation needs."""
        client = await self._client("secretsmanager")
        current = await client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        values: tuple[str, ...] = (current["SecretString"],)
        if datetime.now(UTC) - current["CreatedDate"] < ADMIT_PREVIOUS_FOR:
            try:
                previous = await client.get_secret_value(
                    SecretId=secret_id, VersionStage="AWSPREVIOUS"
                )
            except client.exceptions.ResourceNotFoundException:
                return values  # never rotated
            values += (previous["SecretString"],)
        return values


class OriginCheck:
    """Admits a request when no origin secret is configured or its header carries the secret."""

    def __init__(
        self,
        secret_id: str | None,
        read_secret: SecretReader | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if secret_id is not None and read_secret is None:
            raise ValueError("checking the origin needs a way to read its secret")
        self.secret_id = secret_id
        self._read_secret = read_secret
        self._clock = clock
        self._expected: tuple[bytes, ...] | None = None
        self._read_at = -math.inf

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginCheck:
        """The check the function's environment asks for (none unless a secret is named)."""
        if not settings.origin_verify_secret_arn:
            return cls(None)
        return cls(settings.origin_verify_secret_arn, SecretsClients().admitted_values)

    async def admits(self, headers: Mapping[str, str]) -> bool:
        """Whether the request came through CloudFront (always, when no secret is configured)."""
        if self.secret_id is None:
            return True
        supplied = headers.get(HEADER, "").encode("utf-8", "surrogateescape")
        if not supplied:
            return False
        if self._expected is None:
            await self._read()
        elif not self._matches(supplied):
            if self._clock() - self._read_at < REREAD_AFTER_SECONDS:
                return False
            await self._read()  # perhaps rotated since it was read
        return self._matches(supplied)

    def _matches(self, supplied: bytes) -> bool:
        assert self._expected is not None
        # Every admitted value is compared, so the time taken tells nothing about which matched.
        matches = [hmac.compare_digest(supplied, value) for value in self._expected]
        return any(matches)

    async def refusal(
        self, event: Mapping[str, Any], correlation_id: str | None
    ) -> dict[str, Any] | None:
        """The problem+json answer to a request that bypassed CloudFront; None to go on."""
        problem: ProblemError
        try:
            if await self.admits(event.get("headers") or {}):
                return None
            log.warning("request refused: it did not come through CloudFront")
            problem = Forbidden("Call the API through its public address")
        except (BotoCoreError, ClientError) as error:
            log.error("the origin secret cannot be read: %r", error)
            problem = ServiceUnavailable("Retry shortly", headers={"Retry-After": "1"})
        document = problem.to_problem(instance=event.get("rawPath"), correlation_id=correlation_id)
        return {
            "statusCode": problem.status,
            "headers": {"Content-Type": PROBLEM_CONTENT_TYPE, **problem.headers},
            "body": problem_body(document).decode(),
            "isBase64Encoded": False,
        }

    async def _read(self) -> None:
        assert self.secret_id is not None
        assert self._read_secret is not None
        values = await self._read_secret(self.secret_id)
        self._expected = tuple(value.encode() for value in values)
        self._read_at = self._clock()
