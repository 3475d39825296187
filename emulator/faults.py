"""Dependency faults on demand: a TCP proxy in front of the AWS endpoint, and an API behind it.

The functions of a ``FaultyApi`` reach AWS only through its ``FaultProxy``. A test injects a
fault while requests run: the endpoint goes down (every connection is reset) or turns slow (its
answers are held past any client timeout), for every call or only for one operation such as
``TransactWriteItems``. Clearing the fault restores the path, so the test can then read what
was, or was not, written.

A fault works on bytes; an ``AwsAnswer`` works on meaning: the proxy answers the calls of one
operation itself, with the status and JSON body AWS would send (a transaction cancelled for given
reasons, a throttling error), once, a few times or until removed, and counts them, so a test
sees how often the SDK and the function tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from emulator.background_loop import BackgroundLoop
from emulator.function_pool import FunctionPool
from emulator.gateway import build_gateway, serve_gateway
from emulator.jwt_authorizer import cognito_authorizer
from emulator.provision import function_environment
from libs.resources.api_routes import ROUTES
from libs.resources.environments import PROJECT
from libs.resources.functions import FUNCTIONS
from libs.stack_outputs import StackOutputs

# Longer than any client's read timeout and any function's: a held answer is never awaited.
DEFAULT_DELAY_SECONDS: Final = 60.0
_CHUNK_BYTES: Final = 65536
# A chunk from the client that starts an HTTP request (the SDK sends one at a time per socket).
_REQUEST_LINE: Final = re.compile(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r\n")
_START_TIMEOUT_SECONDS: Final = 60.0

log = logging.getLogger(__name__)


class FaultKind(enum.StrEnum):
    """What the endpoint does to a call the fault applies to."""

    DOWN = "down"  # the connection is reset: botocore raises ConnectionClosedError and the like
    SLOW = "slow"  # the request arrives, its answer is held: the client times out


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault of every call, or only of the calls of one API operation."""

    kind: FaultKind
    operation: str | None = None  # e.g. "TransactWriteItems" (the X-Amz-Target's action)
    delay_seconds: float = DEFAULT_DELAY_SECONDS

    def applies_to(self, request_head: bytes) -> bool:
        """Whether the request starting with ``request_head`` is affected."""
        return self.operation is None or operation_of(request_head) == self.operation


def operation_of(request_head: bytes) -> str | None:
    """The API operation a request calls (its X-Amz-Target's action), if it names one."""
    target = re.search(rb"(?im)^x-amz-target:\s*\S*\.(\w+)\s*$", request_head)
    return target[1].decode() if target else None


_DYNAMODB_ERRORS: Final = "com.amazonaws.dynamodb.v20120810#"
_HEAD_END: Final = b"\r\n\r\n"
_STATUS_PHRASES: Final = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}


@dataclass(slots=True)
class AwsAnswer:
    """The proxy's own answer to the calls of ``operation``: ``status`` and a JSON ``body``.

    ``times`` answers (None: every call while the answer is set), after which calls pass to AWS
    again; ``answered`` counts them (the SDK's retries included).
    """

    operation: str  # the X-Amz-Target's action, e.g. "TransactWriteItems"
    body: dict[str, Any]
    status: int = 400
    times: int | None = None
    answered: int = 0

    def take(self, request_head: bytes) -> bool:
        """Whether this answer replaces the request starting with ``request_head`` (counted)."""
        if self.times is not None and self.answered >= self.times:
            return False
        if operation_of(request_head) != self.operation:
            return False
        self.answered += 1
        return True

    def response(self) -> bytes:
        """The HTTP response, as the AWS JSON protocol sends it."""
        body = msgspec.json.encode(self.body)
        phrase = _STATUS_PHRASES.get(self.status, "Error")
        head = (
            f"HTTP/1.1 {self.status} {phrase}\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(body)}\r\n"
            "x-amzn-RequestId: emulator-aws-answer\r\n\r\n"
        )
        return head.encode() + body


def transaction_cancelled(*codes: str, times: int | None = None) -> AwsAnswer:
    """TransactWriteItems cancelled with one reason code per item ("None": that item was fine)."""
    reasons = [
        {"Code": code} if code == "None" else {"Code": code, "Message": f"{code} (emulated)"}
        for code in codes
    ]
    message = (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{', '.join(codes)}]"
    )
    return AwsAnswer(
        "TransactWriteItems",
        {
            "__type": f"{_DYNAMODB_ERRORS}TransactionCanceledException",
            "Message": message,
            "CancellationReasons": reasons,
        },
        times=times,
    )


def dynamodb_error(
    operation: str, code: str, *, namespace: str = _DYNAMODB_ERRORS, times: int | None = None
) -> AwsAnswer:
    """``operation`` refused with DynamoDB's error ``code``, e.g. ``ThrottlingException``."""
    body = {"__type": f"{namespace}{code}", "message": f"{code} (emulated)"}
    return AwsAnswer(operation, body, times=times)


class FaultProxy:
    """A TCP proxy to ``upstream_url``: passes bytes through, or applies the injected fault.

    ``fault`` may be set from any thread; each request reads it when it starts.
    """

    def __init__(self, upstream_url: str) -> None:
        address = urlsplit(upstream_url)
        if address.hostname is None or address.port is None:
            raise ValueError(f"{upstream_url} names no host and port")
        self._upstream = (address.hostname, address.port)
        self.fault: Fault | None = None
        self.answers: list[AwsAnswer] = []
        self._answers_lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1") -> str:
        """Listen on a free port of ``host``; the proxy's URL."""
        self._server = await asyncio.start_server(self._accept, host, 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy is closing: the connection is dropped, and that is all
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.fault
        if fault is not None and fault.kind is FaultKind.DOWN and fault.operation is None:
            _reset(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            _reset(writer)
            return
        connection = _Connection(writer, upstream_writer)
        directions = (
            asyncio.create_task(self._requests(reader, connection)),
            asyncio.create_task(self._answers(upstream_reader, connection)),
        )
        try:
            # Until both sides are done, or one side fails (it went away, or was reset).
            await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            connection.close()
            for task in directions:
                task.cancel()
            await asyncio.gather(*directions, return_exceptions=True)

    def _answer_for(self, request_head: bytes) -> AwsAnswer | None:
        with self._answers_lock:  # tests set answers from another thread
            return next((answer for answer in self.answers if answer.take(request_head)), None)

    async def _requests(self, client: asyncio.StreamReader, connection: _Connection) -> None:
        while chunk := await client.read(_CHUNK_BYTES):
            fault = self.fault
            starts_request = _REQUEST_LINE.match(chunk) is not None
            if starts_request and self.answers:
                chunk = await _whole_head(client, chunk)
                answer = self._answer_for(chunk)
                if answer is not None:
                    await _skip_body(client, chunk)
                    connection.client.write(answer.response())
                    await connection.client.drain()
                    continue
            applies = fault is not None and (
                fault.operation is None if not starts_request else fault.applies_to(chunk)
            )
            if fault is not None and applies and fault.kind is FaultKind.DOWN:
                connection.reset()
                return
            if starts_request:
                slow = fault is not None and applies and fault.kind is FaultKind.SLOW
                connection.answer_delay = fault.delay_seconds if fault and slow else 0.0
            connection.upstream.write(chunk)
            await connection.upstream.drain()
        connection.upstream.write_eof()

    async def _answers(self, upstream: asyncio.StreamReader, connection: _Connection) -> None:
        while chunk := await upstream.read(_CHUNK_BYTES):
            if connection.answer_delay:
                await asyncio.sleep(connection.answer_delay)
            connection.client.write(chunk)
            await connection.client.drain()
        connection.client.close()


async def _whole_head(client: asyncio.StreamReader, chunk: bytes) -> bytes:
    """``chunk`` extended until it holds the request's whole head (its headers)."""
    while _HEAD_END not in chunk:
        more = await client.read(_CHUNK_BYTES)
        if not more:
            break
        chunk += more
    return chunk


async def _skip_body(client: asyncio.StreamReader, chunk: bytes) -> None:
    """Read the rest of the body of the request that ``chunk`` starts (it is answered here)."""
    head, _, body = chunk.partition(_HEAD_END)
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    missing = (int(length[1]) if length else 0) - len(body)
    if missing > 0:
        await client.readexactly(missing)


class _Connection:
    """One client connection and its upstream twin."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.answer_delay = 0.0

    def reset(self) -> None:
        _reset(self.client)
        self.upstream.transport.abort()

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if not writer.transport.is_closing():
                writer.transport.abort()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (linger 0), as a crashed or overloaded endpoint does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultyApi:
    """The HTTP API of some services, whose functions reach AWS only through a FaultProxy.

    It shares the running stack's resources (table, user pool) but has its own gateway and
    containers, on a ``BackgroundLoop`` as the local system's are. ``timeout_seconds`` overrides the
    declared function timeout, so a test sees the deadline without waiting for the real one.
    """

    def __init__(
        self,
        outputs: StackOutputs,
        services: Iterable[str],
        *,
        timeout_seconds: int | None = None,
    ) -> None:
        self._outputs = outputs
        self._services = tuple(services)
        self._timeout_seconds = timeout_seconds
        self._proxy = FaultProxy(outputs.aws_endpoint_url)
        self._pools: list[FunctionPool] = []
        self._runner: web.AppRunner | None = None
        self._loop: BackgroundLoop | None = None
        self.api_url = ""

    @property
    def fault(self) -> Fault | None:
        """The fault the functions' AWS endpoint applies now (None: it works)."""
        return self._proxy.fault

    @fault.setter
    def fault(self, fault: Fault | None) -> None:
        self._proxy.fault = fault

    def answer(self, *answers: AwsAnswer) -> None:
        """Answer calls with these, the first that applies to each call (none: AWS answers)."""
        self._proxy.answers = list(answers)

    def start(self) -> Self:
        """Start the proxy, the containers (one warm each) and the gateway."""
        self._loop = BackgroundLoop("faulty-api")
        try:
            self.api_url = self._loop.run(self._start(), _START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything ``start`` started; safe to call more than once."""
        if self._loop is None:
            return
        if self._runner is not None:
            self._loop.run(self._runner.cleanup(), timeout=10)
            self._runner = None
        self._loop.run(self._proxy.close(), timeout=10)
        for pool in self._pools:
            pool.close()
        self._pools = []
        self._loop.close()
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _start(self) -> str:
        outputs = self._outputs
        proxy_url = await self._proxy.start()
        environment = function_environment(outputs) | {"AWS_ENDPOINT_URL": proxy_url}
        pools: dict[str, FunctionPool] = {}
        for service in self._services:
            declaration = FUNCTIONS[service]
            if self._timeout_seconds is not None:
                declaration = msgspec.structs.replace(
                    declaration, timeout_seconds=self._timeout_seconds
                )
            pools[service] = FunctionPool(
                declaration,
                environment,
                function_name=f"{PROJECT}-{service}-faulty",
                max_containers=1,
            )
        self._pools = list(pools.values())
        # The authorizer reads the pool's keys straight from the endpoint: API Gateway's own
        # path to Cognito is not the functions' dependency.
        authorizer = cognito_authorizer(
            outputs.aws_endpoint_url,
            outputs.region,
            outputs.user_pool_id,
            outputs.user_pool_client_id,
        )
        await asyncio.gather(authorizer.refresh(), *(pool.prewarm(1) for pool in self._pools))
        routes = [route for route in ROUTES if route.function in pools]
        self._runner, port = await serve_gateway(build_gateway(pools, authorizer, routes=routes))
        return f"http://127.0.0.1:{port}"
