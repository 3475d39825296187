"""aiobotocore clients of one Lambda container: created on first use, reused across invocations.

Endpoints come from botocore's own settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``),
so the same code talks to the emulator or to AWS without knowing which.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, cast

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient

# Fail fast inside a Lambda's timeout; "standard" retries back off on throttling.
CLIENT_CONFIG = AioConfig(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=50,
    tcp_keepalive=True,
)


class AwsClients:
    """One client per AWS service for the life of the container."""

    def __init__(self, session: AioSession | None = None) -> None:
        self._session = session
        self._stack = AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._lock: asyncio.Lock | None = None

    async def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # two first uses at once must not create two clients
            if service not in self._clients:
                session = self._session or get_session()
                self._session = session
                # The typed overloads want a literal name; this one method serves them all.
                creator = cast(Any, session).create_client(service, config=CLIENT_CONFIG)
                self._clients[service] = await self._stack.enter_async_context(creator)
        return self._clients[service]

    async def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client."""
        client: DynamoDBClient = await self._client("dynamodb")
        return client

    async def events(self) -> EventBridgeClient:
        """The EventBridge client."""
        client: EventBridgeClient = await self._client("events")
        return client

    async def cognito(self) -> CognitoIdentityProviderClient:
        """The Cognito user pools client."""
        client: CognitoIdentityProviderClient = await self._client("cognito-idp")
        return client

    async def sqs(self) -> SQSClient:
        """The SQS client."""
        client: SQSClient = await self._client("sqs")
        return client

    async def close(self) -> None:
        """Close every client (at shutdown, or before a snapshot is taken)."""
        await self._stack.aclose()
        self._stack = AsyncExitStack()
        self._clients.clear()
