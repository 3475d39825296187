"""The whole local stack in one object: backend, resources, seed data, functions and HTTP API."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import msgspec
from aiohttp import web

from emulator.backends import Backend, start_backend
from emulator.function_pool import DEFAULT_MAX_CONTAINERS, FunctionError, FunctionPool
from emulator.gateway import build_gateway, serve_gateway
from emulator.jwt_authorizer import cognito_authorizer
from emulator.provision import STACK_NAME, StackOutputs, function_environment, provision
from libs.resources.functions import FUNCTIONS, FunctionDeclaration

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3000
DEFAULT_OUTPUTS_PATH: Final = Path(".local/outputs.json")
# Seconds the stack may take to provision, seed and start; generous for a cold CI machine.
START_TIMEOUT_SECONDS: Final = 120.0

Seed = Callable[[StackOutputs], Awaitable[None]]
_T = TypeVar("_T")

log = logging.getLogger(__name__)


class LocalStack:
    """Starts everything ``just dev`` and the test session need, and stops it all again.

    The gateway and the function pools run on an event loop of their own, in a background
    thread, so the stack serves requests while the caller blocks, sleeps or runs its own loop.
    """

    def __init__(
        self,
        *,
        backend: str | None = None,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        outputs_path: Path | str = DEFAULT_OUTPUTS_PATH,
        seed: Seed | None = None,
        functions: Mapping[str, FunctionDeclaration] = FUNCTIONS,
        max_containers: int = DEFAULT_MAX_CONTAINERS,
        prewarm: int = 1,
    ) -> None:
        self.host = host
        self.port = int(os.environ.get("PORT", DEFAULT_PORT)) if port is None else port
        self.outputs_path = Path(outputs_path)
        self.pools: dict[str, FunctionPool] = {}
        self._backend_kind = backend
        self._seed = seed
        self._functions = functions
        self._max_containers = max_containers
        self._prewarm = prewarm
        self._backend: Backend | None = None
        self._outputs: StackOutputs | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def outputs(self) -> StackOutputs:
        """The stack's outputs, as ``.local/outputs.json`` holds them."""
        if self._outputs is None:
            raise RuntimeError("the local stack is not started")
        return self._outputs

    @property
    def api_url(self) -> str:
        """The base URL of the local HTTP API."""
        return self.outputs.api_url

    @property
    def endpoint_url(self) -> str:
        """Where the emulated AWS APIs answer (the functions' ``AWS_ENDPOINT_URL``)."""
        return self.outputs.aws_endpoint_url

    def start(self) -> Self:
        """Start the backend, provision, seed, start the functions and serve the HTTP API."""
        if self._thread is not None:
            raise RuntimeError("the local stack is already started")
        try:
            self._backend = start_backend(self._backend_kind)
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="local-stack", daemon=True
            )
            self._thread.start()
            self._outputs = self._run(self._start(self._backend), START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the gateway, the containers and the backend; safe to call more than once."""
        if self._runner is not None:
            self._run(self._runner.cleanup(), timeout=10)
            self._runner = None
        for pool in self.pools.values():
            pool.close()
        self.pools = {}
        if self._loop is not None and self._thread is not None:
            # The pools start containers from the loop's executor threads: let those finish.
            self._run(self._loop.shutdown_default_executor(), timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
        self._loop = self._thread = None
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
        outputs = await provision(backend.endpoint_url, backend.region)
        if self._seed is not None:
            await self._seed(outputs)
        environment = function_environment(outputs)
        self.pools = {
            service: FunctionPool(
                declaration,
                environment,
                function_name=f"{STACK_NAME}-{service}",
                max_containers=self._max_containers,
            )
            for service, declaration in self._functions.items()
        }
        authorizer = cognito_authorizer(
            outputs.aws_endpoint_url,
            outputs.region,
            outputs.user_pool_id,
            outputs.user_pool_client_id,
        )
        await asyncio.gather(authorizer.refresh(), *map(self._warm, self.pools.values()))
        self._runner, port = await serve_gateway(
            build_gateway(self.pools, authorizer), self.host, self.port
        )
        outputs = msgspec.structs.replace(outputs, api_url=f"http://{self.host}:{port}")
        self._write_outputs(outputs)
        return outputs

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

    def _run(self, coroutine: Coroutine[Any, Any, _T], timeout: float) -> _T:
        if self._loop is None:
            raise RuntimeError("the local stack's event loop is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
