"""The whole local system in one object: backend, resources, seed data, functions, HTTP API, and
the event path (the outbox relay and the queues' event source mappings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import msgspec
from aiobotocore.session import get_session
from aiohttp import web

from emulator.backends import Backend, start_backend
from emulator.background_loop import BackgroundLoop
from emulator.event_relay import OutboxRelay, latest_stream_arn
from emulator.event_source_mapping import QueueEventSource
from emulator.function_pool import DEFAULT_MAX_CONTAINERS, FunctionError, FunctionPool
from emulator.gateway import build_gateway, serve_gateway
from emulator.jwt_authorizer import cognito_authorizer
from emulator.provision import function_environment, provision, queue_addresses
from libs.resources.environments import PROJECT
from libs.resources.events import CONSUMER_QUEUES
from libs.resources.functions import FUNCTIONS, FunctionDeclaration
from libs.resources.naming import named_queue
from libs.stack_outputs import LOCAL_OUTPUTS, StackOutputs

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3000
# Seconds the stack may take to provision, seed and start; generous for a cold CI machine.
START_TIMEOUT_SECONDS: Final = 120.0

Seed = Callable[[StackOutputs], Awaitable[None]]

log = logging.getLogger(__name__)


class LocalSystem:
    """Starts everything ``just dev`` and the test session need, and stops it all again.

    The gateway and the function pools run on an event loop of their own, in a background
    thread, so the stack serves requests while the caller blocks, sleeps or runs its own loop.
    ``moto_in_process=False`` serves moto from a child process, so it and the gateway each get
    a core (``just dev`` does); the test session keeps moto in its own process to read it.
    """

    def __init__(
        self,
        *,
        backend: str | None = None,
        moto_in_process: bool = True,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        outputs_path: Path | str = LOCAL_OUTPUTS,
        seed: Seed | None = None,
        functions: Mapping[str, FunctionDeclaration] = FUNCTIONS,
        max_containers: int = DEFAULT_MAX_CONTAINERS,
        prewarm: int = 1,
        name_suffix: str = "",
        tls: bool = False,
    ) -> None:
        self.host = host
        self.port = int(os.environ.get("PORT", DEFAULT_PORT)) if port is None else port
        self.outputs_path = Path(outputs_path)
        self.pools: dict[str, FunctionPool] = {}
        # The event path, running while the stack runs: by queue logical id, and the relay.
        self.event_sources: dict[str, QueueEventSource] = {}
        self.outbox_relay: OutboxRelay | None = None
        self._backend_kind = backend
        self._moto_in_process = moto_in_process
        self._seed = seed
        self._functions = functions
        self._max_containers = max_containers
        self._prewarm = prewarm
        # Non-empty: resources named apart from any other stack at the same endpoint.
        self._name_suffix = name_suffix
        # The functions (and the outputs file) reach the emulator over HTTPS, as they reach AWS.
        self._tls = tls
        self._backend: Backend | None = None
        self._outputs: StackOutputs | None = None
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._event_clients = AsyncExitStack()
        self._event_tasks: list[asyncio.Task[None]] = []

    @property
    def outputs(self) -> StackOutputs:
        """The stack's outputs, as ``.local/outputs.json`` holds them."""
        if self._outputs is None:
            raise RuntimeError("the local system is not started")
        return self._outputs

    @property
    def api_url(self) -> str:
        """The base URL of the local HTTP API."""
        return self.outputs.api_url

    @property
    def endpoint_url(self) -> str:
        """Where the emulated AWS APIs answer (the functions' ``AWS_ENDPOINT_URL``; HTTPS with
        ``tls=True``, verified with ``outputs.aws_ca_bundle``)."""
        return self.outputs.aws_endpoint_url

    @property
    def emulator_pid(self) -> int | None:
        """The child process serving the emulated AWS APIs (None: this process, or not ours)."""
        return self._backend.pid if self._backend is not None else None

    def start(self) -> Self:
        """Start the backend, provision, seed, start the functions and serve the HTTP API."""
        if self._loop is not None:
            raise RuntimeError("the local system is already started")
        try:
            self._backend = start_backend(
                self._backend_kind, moto_in_process=self._moto_in_process, tls=self._tls
            )
            self._loop = BackgroundLoop("local-system")
            self._outputs = self._loop.run(self._start(self._backend), START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the gateway, the containers and the backend; safe to call more than once."""
        if self._loop is not None:
            if self._runner is not None:
                self._loop.run(self._runner.cleanup(), timeout=10)
                self._runner = None
            self._loop.run(self._stop_event_path(), timeout=10)
        for pool in self.pools.values():
            pool.close()
        self.pools = {}
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        if self._backend is not None:
            self._backend.stop()
            self._backend = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _start(self, backend: Backend) -> StackOutputs:
        outputs = await provision(backend.endpoint_url, backend.region, self._name_suffix)
        if self._seed is not None:
            await self._seed(outputs)
        # What stands in for AWS's own machinery here (the authorizer's key fetch, the relay,
        # the queue pollers) keeps moto's plain endpoint; the functions get the HTTPS one.
        internal = outputs
        if backend.tls_endpoint_url is not None:
            outputs = msgspec.structs.replace(
                outputs,
                aws_endpoint_url=backend.tls_endpoint_url,
                aws_ca_bundle=backend.ca_bundle or "",
            )
        environment = function_environment(outputs)
        self.pools = {
            service: FunctionPool(
                declaration,
                environment,
                function_name=f"{PROJECT}-{service}",
                max_containers=self._max_containers,
            )
            for service, declaration in self._functions.items()
            # The stream consumer is AWS's outbox relay; locally ``self.outbox_relay`` does it.
            if declaration.trigger != "stream"
        }
        authorizer = cognito_authorizer(
            internal.aws_endpoint_url,
            internal.region,
            internal.user_pool_id,
            internal.user_pool_client_id,
        )
        await asyncio.gather(authorizer.refresh(), *map(self._warm, self.pools.values()))
        await self._start_event_path(internal)
        http_pools = {
            service: pool
            for service, pool in self.pools.items()
            if pool.declaration.trigger == "http"
        }
        self._runner, port = await serve_gateway(
            build_gateway(http_pools, authorizer), self.host, self.port
        )
        outputs = msgspec.structs.replace(outputs, api_url=f"http://{self.host}:{port}")
        self._write_outputs(outputs)
        return outputs

    async def _start_event_path(self, outputs: StackOutputs) -> None:
        """Start the outbox relay, and an event source mapping per queue whose consumer runs."""
        session = get_session()
        options: dict[str, Any] = {
            "endpoint_url": outputs.aws_endpoint_url,
            "region_name": outputs.region,
        }
        clients = self._event_clients
        dynamodb = await clients.enter_async_context(session.create_client("dynamodb", **options))
        streams = await clients.enter_async_context(
            session.create_client("dynamodbstreams", **options)
        )
        events = await clients.enter_async_context(session.create_client("events", **options))
        sqs = await clients.enter_async_context(session.create_client("sqs", **options))
        self.outbox_relay = OutboxRelay(
            streams,
            events,
            stream_arn=await latest_stream_arn(dynamodb, outputs.table_name),
            bus_name=outputs.event_bus_name,
        )
        queues = tuple(named_queue(queue, outputs.name_suffix) for queue in CONSUMER_QUEUES)
        addresses = await queue_addresses(sqs, queues)
        for queue in queues:
            pool = self.pools.get(queue.consumer)
            if pool is None:
                log.info("%s has no consumer running here; its messages wait", queue.name)
                continue
            self.event_sources[queue.logical_id] = QueueEventSource(
                queue, addresses[queue.logical_id], pool, sqs, region=outputs.region
            )
        loop = asyncio.get_running_loop()
        runners: list[OutboxRelay | QueueEventSource] = [
            self.outbox_relay,
            *self.event_sources.values(),
        ]
        self._event_tasks = [loop.create_task(runner.run()) for runner in runners]
        for task in self._event_tasks:
            task.add_done_callback(_report_crash)

    async def _stop_event_path(self) -> None:
        for task in self._event_tasks:
            task.cancel()
        for task in self._event_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._event_tasks = []
        await self._event_clients.aclose()

    async def _warm(self, pool: FunctionPool) -> None:
        try:
            await pool.prewarm(self._prewarm)
        except FunctionError as error:
            # As in Lambda, a function that cannot start fails its invocations, not the deploy.
            log.error("function %s cannot start: %s", pool.declaration.service, error.payload)

    def _write_outputs(self, outputs: StackOutputs) -> None:
        self.outputs_path.parent.mkdir(parents=True, exist_ok=True)
        document = msgspec.json.format(msgspec.json.encode(outputs), indent=2)
        self.outputs_path.write_bytes(document + b"\n")


def _report_crash(task: asyncio.Task[None]) -> None:
    # A runner only ends when cancelled; anything else stops events flowing and must be seen.
    if not task.cancelled() and task.exception() is not None:
        log.error("the event path stopped", exc_info=task.exception())
