"""aiobotocore clients of one Lambda container: created on first use, reused across invocations.

Endpoints come from botocore's own settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``),
so the same code talks to the emulator or to AWS without knowing which.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterable
from contextlib import AsyncExitStack
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, cast

from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession, get_session

from libs.attribute_values import ResponseParsers
from libs.aws_usage import meter, metering

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_kms import KMSClient
    from types_aiobotocore_sqs import SQSClient


class SharedTlsHttpSession(AIOHTTPSession):
    """aiobotocore's aiohttp session, with one TLS context per container instead of per client.

    Each context loads the CA bundle (~20 ms of CPU); the settings are the same for every client.
    """

    _contexts: ClassVar[dict[tuple[Any, ...], Any]] = {}
    _contexts_lock: ClassVar[threading.Lock] = threading.Lock()

    def _build_ssl_contexts(self, proxy_url: str | None) -> Any:
        settings: Any = self  # the stubs leave out the private settings read here
        key = (settings._verify, settings._cert_file, settings._key_file, proxy_url)
        with self._contexts_lock:  # built in a worker thread, possibly two at once
            if key not in self._contexts:
                self._contexts[key] = cast(Any, super())._build_ssl_contexts(proxy_url)
            return self._contexts[key]


def plain_http_options(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """No certificate checks to set up where every endpoint is plain HTTP (a local emulator).

    Setting them up loads the CA bundle (~20 ms) for connections that never use TLS. Only when
    ``AWS_ENDPOINT_URL`` is ``http://`` and no service has an endpoint of its own: an HTTPS
    endpoint is always verified.
    """
    env = os.environ if environ is None else environ
    if not env.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        return {}
    if any(name.startswith("AWS_ENDPOINT_URL_") for name in env):
        return {}
    return {"verify": False}


@cache
def container_session() -> AioSession:
    """The container's one botocore session: its loaders parse each data file once, and its
    clients take DynamoDB items as sent (``libs.attribute_values``)."""
    session = get_session()
    session.register_component("response_parser_factory", ResponseParsers())
    return session


# Fail fast inside a Lambda's timeout; "standard" retries back off on throttling. Three
# attempts in all (``max_attempts`` would count retries: four), so an unreachable endpoint costs
# at most 1 + 2 s of backoff; HttpFunction's deadline bounds the slow case.
CLIENT_CONFIG = AioConfig(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=50,
    tcp_keepalive=True,
    http_session_cls=SharedTlsHttpSession,
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
                session = self._session or container_session()
                self._session = session
                # The typed overloads want a literal name; this one method serves them all.
                creator = cast(Any, session).create_client(
                    service, config=CLIENT_CONFIG, **plain_http_options()
                )
                client = await self._stack.enter_async_context(creator)
                if metering():  # measured runs only: see libs.aws_usage
                    meter(client)
                self._clients[service] = client
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

    async def kms(self) -> KMSClient:
        """The KMS client."""
        client: KMSClient = await self._client("kms")
        return client

    async def sqs(self) -> SQSClient:
        """The SQS client."""
        client: SQSClient = await self._client("sqs")
        return client

    async def prime(self, services: Iterable[str]) -> None:
        """Create the clients of ``services`` now (during init, so a snapshot holds them)."""
        for service in services:
            await self._client(service)

    async def reconnect(self) -> None:
        """Replace every client with a new one (after a snapshot is restored).

        A restored container's connections point at sockets of another machine; new clients
        open new ones. The session's parsed models and the TLS context are reused: cheap.
        """
        services = list(self._clients)
        await self.close()
        await self.prime(services)

    async def close(self) -> None:
        """Close every client (at shutdown, or before a snapshot is taken)."""
        await self._stack.aclose()
        self._stack = AsyncExitStack()
        self._clients.clear()
