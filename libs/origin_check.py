"""Origin verification: where CloudFront fronts the API, a request must carry CloudFront's secret.

An HTTP API takes no resource policy, so anyone may call its execute-api URL and skip CloudFront
and its web ACL. CloudFront adds ``X-Origin-Verify`` with a value kept in Secrets Manager; the
functions read that value once per container (again when a mismatch could mean it was rotated)
and refuse other requests with 403. Without a configured secret (dev, locally) all pass.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
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

log = logging.getLogger(__name__)

SecretReader = Callable[[str], Awaitable[str]]


class SecretsClients(AwsClients):
    """The container's clients, plus Secrets Manager's (used only behind CloudFront)."""

    async def secret_string(self, secret_id: str) -> str:
        """The current value of a string secret."""
        client = await self._client("secretsmanager")
        value: str = (await client.get_secret_value(SecretId=secret_id))["SecretString"]
        return value


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
        self._expected: bytes | None = None
        self._read_at = -math.inf

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginCheck:
        """The check the function's environment asks for (none unless a secret is named)."""
        if not settings.origin_verify_secret_arn:
            return cls(None)
        return cls(settings.origin_verify_secret_arn, SecretsClients().secret_string)

    async def admits(self, headers: Mapping[str, str]) -> bool:
        """Whether the request came through CloudFront (always, when no secret is configured)."""
        if self.secret_id is None:
            return True
        supplied = headers.get(HEADER, "").encode("utf-8", "surrogateescape")
        if not supplied:
            return False
        if self._expected is None:
            await self._read()
        elif not hmac.compare_digest(supplied, self._expected):
            if self._clock() - self._read_at < REREAD_AFTER_SECONDS:
                return False
            await self._read()  # perhaps rotated since it was read
        assert self._expected is not None
        return hmac.compare_digest(supplied, self._expected)

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
        self._expected = (await self._read_secret(self.secret_id)).encode()
        self._read_at = self._clock()
