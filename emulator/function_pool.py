"""Local Lambda: each container is a process serving one invocation at a time, scaled on demand.

Processes, not threads or tasks: Powertools' resolver keeps the current event in class-level
state, so two concurrent invocations must never share an interpreter, exactly as in Lambda.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

import msgspec

from emulator.usage_ledger import LEDGER, InvocationUsage
from libs.aws_usage import metering, take_usage
from libs.resources.functions import FunctionDeclaration

# The directory Lambda would unpack the bundle into: the repository root, first on sys.path.
PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
ACCOUNT_ID: Final = "123456789012"  # moto's default account
DEFAULT_MAX_CONTAINERS: Final = 4
# Lambda's limit on a container's init phase (importing the handler's module) is 10 s, on CPU
# of its own. Here every container also starts an interpreter, several start at once on a
# machine's shared cores (a stack's prewarm, a scale-out, CI running beside other work), so the
# wall-clock allowance is wider; a handler that hangs at import still fails to start.
INIT_TIMEOUT_SECONDS: Final = 30.0

# Host settings that would make a local function behave unlike the deployed one: Powertools'
# developer mode, and a named profile (botocore would then skip the credential variables).
# What Lambda's python3.13 runtime (every function's, see stacks.functions) sets.
EXECUTION_ENV: Final = "AWS_Lambda_python3.13"
_HOST_ONLY_VARIABLES: Final = ("POWERTOOLS_DEV", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
# Never fork: the parent runs threads (moto, the gateway's loop) whose locks a fork would copy.
_SPAWN: Final = multiprocessing.get_context("spawn")


class FunctionError(Exception):
    """An invocation failed; ``payload`` is Lambda's error document."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


class FunctionTimeout(FunctionError):
    """An invocation outran the function's timeout; its container was killed."""


class LambdaContext:
    """The ``context`` argument of a handler, with the attributes Lambda's runtime provides."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, spec: _ContainerSpec, aws_request_id: str, deadline: float) -> None:
        self.function_name = spec.function_name
        self.memory_limit_in_mb = spec.memory_mb
        self.invoked_function_arn = spec.function_arn
        self.log_group_name = spec.log_group_name
        self.log_stream_name = spec.log_stream_name
        self.aws_request_id = aws_request_id
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda would stop this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionPool:
    """The containers of one function: warm ones are reused, new ones start while all are busy.

    Safe to use from several event loops and threads: bookkeeping is under a thread lock, and a
    caller waiting for a container is woken on its own loop.
    """

    def __init__(
        self,
        declaration: FunctionDeclaration,
        environment: Mapping[str, str],
        *,
        function_name: str | None = None,
        max_containers: int = DEFAULT_MAX_CONTAINERS,
        task_root: Path = PROJECT_ROOT,
    ) -> None:
        if max_containers < 1:
            raise ValueError("max_containers must be at least 1")
        name = function_name or declaration.service
        self.declaration = declaration
        self.max_containers = max_containers
        self._spec = _ContainerSpec.create(declaration, name, environment, task_root)
        self._lock = threading.Lock()
        self._idle: list[_Container] = []  # the most recently used last: reused first, as Lambda
        self._busy: set[_Container] = set()
        self._size = 0  # containers running or starting
        self._waiters: deque[asyncio.Future[_Container | None]] = deque()
        self._closed = False

    @property
    def size(self) -> int:
        """How many containers are running or starting."""
        return self._size

    @property
    def pids(self) -> list[int]:
        """Process ids of the started containers, idle or busy (for CPU accounting)."""
        with self._lock:
            containers = [*self._idle, *self._busy]
        return [container.process.pid for container in containers if container.process.pid]

    async def invoke(self, event: Any) -> Any:
        """Run the handler on ``event`` in a free container and return what it returned.

        Raises FunctionError with Lambda's error document when the handler raises, the container
        dies or fails to start, and FunctionTimeout when the declared timeout runs out.
        """
        request_id = str(uuid.uuid4())
        request = msgspec.json.encode(_Invocation(request_id, event))
        container = await self._acquire()
        healthy = False
        try:
            container.send(request)
            async with asyncio.timeout(self.declaration.timeout_seconds):
                reply = _REPLY.decode(await container.receive())
            healthy = True
        except TimeoutError:
            timeout = self.declaration.timeout_seconds
            raise FunctionTimeout(
                _runtime_error(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
                )
            ) from None
        except _ContainerExited:
            raise FunctionError(
                _runtime_error(
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited: {container.exit_status()}",
                )
            ) from None
        finally:
            # A container whose invocation did not complete (timeout, crash, cancelled caller)
            # may still be running the handler: it is never reused.
            self._release(container, healthy=healthy)
        if isinstance(reply, _Succeeded | _Failed) and reply.usage is not None:
            LEDGER.record(event, reply.usage, self.declaration.memory_mb)
        if isinstance(reply, _Failed):
            raise FunctionError(reply.error)
        if isinstance(reply, _Succeeded):
            return reply.result
        raise RuntimeError(f"unexpected reply from a container: {reply!r}")

    async def prewarm(self, count: int = 1) -> None:
        """Start containers until ``count`` (at most ``max_containers``) are warm."""
        wanted = min(count, self.max_containers)
        started = await asyncio.gather(
            *(self._acquire() for _ in range(wanted)), return_exceptions=True
        )
        for container in started:
            if isinstance(container, _Container):
                self._release(container, healthy=True)
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure

    def close(self) -> None:
        """Stop every container; waiting invocations fail and new ones are refused."""
        with self._lock:
            self._closed = True
            idle, busy, waiters = list(self._idle), list(self._busy), list(self._waiters)
            self._idle.clear()
            self._waiters.clear()
            self._size -= len(idle)
        for waiter in waiters:
            _call_on_loop(waiter, _fail_waiter)
        for container in busy:
            # Only the process: the invocation that owns the pipe sees EOF and cleans up.
            container.process.kill()
        for container in idle:
            container.stop()

    async def _acquire(self) -> _Container:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the pool of {self._spec.function_name} is closed")
            while self._idle:
                container = self._idle.pop()
                if container.alive:
                    self._busy.add(container)
                    return container
                self._size -= 1  # died while idle: its slot is free again
            waiter: asyncio.Future[_Container | None] | None = None
            if self._size < self.max_containers:
                self._size += 1
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
        if waiter is not None:
            # A waiter receives a warm container, or None: a free slot to start one in.
            handed_over = await waiter
            if handed_over is not None:
                return handed_over
        return await self._start_container()

    async def _start_container(self) -> _Container:
        """Start a container in a slot already counted in ``_size``."""
        container: _Container | None = None
        try:
            container = await asyncio.get_running_loop().run_in_executor(
                None, _Container.spawn, self._spec
            )
            async with asyncio.timeout(INIT_TIMEOUT_SECONDS):
                ready = _REPLY.decode(await container.receive())
            if isinstance(ready, _Failed):
                raise FunctionError(ready.error)
        except BaseException as error:
            if container is not None:
                container.kill()
            self._hand_over(None)
            if isinstance(error, TimeoutError | _ContainerExited):
                raise FunctionError(
                    _runtime_error("Runtime.Unknown", f"container failed to start: {error!r}")
                ) from error
            raise
        with self._lock:
            if not self._closed:
                self._busy.add(container)
                return container
        container.kill()
        raise RuntimeError(f"the pool of {self._spec.function_name} is closed")

    def _release(self, container: _Container, *, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(container)
            reusable = healthy and not self._closed
        if not reusable:
            container.kill()
        self._hand_over(container if reusable else None)

    def _hand_over(self, container: _Container | None) -> None:
        """Give a container (or a freed slot, None) to the first waiter, else keep it."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done() and _call_on_loop(waiter, self._deliver, container):
                    return
            if container is not None and not self._closed:
                self._idle.append(container)
                return
            self._size -= 1
        if container is not None:
            container.kill()

    def _deliver(
        self, waiter: asyncio.Future[_Container | None], container: _Container | None
    ) -> None:
        # Runs on the waiter's loop; the waiter may have been cancelled since it was chosen.
        if waiter.done():
            self._hand_over(container)
            return
        if container is not None:
            with self._lock:
                self._busy.add(container)
        waiter.set_result(container)


def _call_on_loop(waiter: asyncio.Future[Any], callback: Any, *args: Any) -> bool:
    """Schedule ``callback(waiter, *args)`` on the waiter's loop; False if that loop is closed."""
    try:
        waiter.get_loop().call_soon_threadsafe(callback, waiter, *args)
    except RuntimeError:
        return False
    return True


def _fail_waiter(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(RuntimeError("the function pool was closed"))


def _runtime_error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": []}


class _ContainerExited(Exception):
    """The container's process ended, or its pipe broke."""


class _Container:
    """The parent's handle on one container process."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self._fd = conn.fileno()
        self._ending = threading.Lock()

    @classmethod
    def spawn(cls, spec: _ContainerSpec) -> _Container:
        parent_end, child_end = _SPAWN.Pipe()
        # daemon: multiprocessing ends the containers when this interpreter exits normally.
        process = _SPAWN.Process(
            target=_serve, args=(child_end, spec), name=spec.function_name, daemon=True
        )
        process.start()
        # Only the child may hold its end, so the child sees EOF as soon as this process is gone.
        child_end.close()
        return cls(process, parent_end)

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, message: bytes) -> None:
        try:
            self.conn.send_bytes(message)
        except OSError as error:
            raise _ContainerExited(repr(error)) from error

    async def receive(self) -> bytes:
        """The container's next message, awaited without blocking the event loop."""
        if not self.conn.poll():
            loop = asyncio.get_running_loop()
            readable = loop.create_future()
            loop.add_reader(self._fd, _set_done, readable)
            try:
                await readable
            finally:
                loop.remove_reader(self._fd)
        try:
            return self.conn.recv_bytes()
        except (EOFError, OSError) as error:
            raise _ContainerExited(repr(error)) from error

    def exit_status(self) -> str:
        self.process.join(timeout=1)
        code = self.process.exitcode
        if code is None:
            return "still running"
        return f"signal {-code}" if code < 0 else f"exit status {code}"

    def stop(self) -> None:
        """End the container gracefully: closing the pipe makes it leave its loop."""
        with self._ending:
            self.conn.close()
            self.process.join(timeout=2)
        self.kill()

    def kill(self) -> None:
        with self._ending:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(timeout=5)
            self.conn.close()


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# Messages between the pool and a container, as msgspec JSON over the pipe (what Lambda passes
# is JSON too, so a handler sees exactly the types it would see there).
class _Invocation(msgspec.Struct, array_like=True):
    request_id: str
    event: Any


class _Ready(msgspec.Struct, tag="ready"):
    pass


class _Succeeded(msgspec.Struct, tag="result"):
    result: Any
    usage: InvocationUsage | None = None  # from a metered container only


class _Failed(msgspec.Struct, tag="error"):
    error: dict[str, Any]
    usage: InvocationUsage | None = None


_REPLY: Final = msgspec.json.Decoder(_Ready | _Succeeded | _Failed)


@dataclass(frozen=True, slots=True)
class _ContainerSpec:
    """Everything a container process needs, pickled to it by the spawn start method."""

    module: str
    attribute: str
    function_name: str
    function_arn: str
    memory_mb: int
    timeout_seconds: float
    log_group_name: str
    log_stream_name: str
    environment: dict[str, str]
    task_root: str

    @classmethod
    def create(
        cls,
        declaration: FunctionDeclaration,
        function_name: str,
        environment: Mapping[str, str],
        task_root: Path,
    ) -> _ContainerSpec:
        region = environment.get("AWS_REGION", "us-east-1")
        log_group = f"/aws/lambda/{function_name}"
        log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        return cls(
            module=declaration.module,
            attribute=declaration.attribute,
            function_name=function_name,
            function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}",
            memory_mb=declaration.memory_mb,
            timeout_seconds=declaration.timeout_seconds,
            log_group_name=log_group,
            log_stream_name=log_stream,
            environment={
                **environment,
                # The variables Lambda's runtime sets for every function.
                "AWS_LAMBDA_FUNCTION_NAME": function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(declaration.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "LAMBDA_TASK_ROOT": str(task_root),
                "TZ": ":UTC",  # Lambda runs in UTC
                # The declared runtime; botocore puts it in each request's User-Agent.
                "AWS_EXECUTION_ENV": EXECUTION_ENV,
                "POWERTOOLS_SERVICE_NAME": declaration.service,
            },
            task_root=str(task_root),
        )


def _serve(conn: Connection, spec: _ContainerSpec) -> None:
    """A container's life: import the handler once, then answer invocations until EOF."""
    # Ctrl-C reaches the whole process group; the pool alone decides when a container ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _HOST_ONLY_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(spec.environment)
    if hasattr(time, "tzset"):
        time.tzset()  # apply Lambda's TZ to this already-running interpreter
    sys.path.insert(0, spec.task_root)
    encoder = msgspec.json.Encoder()
    # Before the import: loggers keep the stream they are given when they are created.
    meter = _InvocationMeter() if metering() else None
    try:
        handler = getattr(importlib.import_module(spec.module), spec.attribute)
    except Exception as error:
        failure = _Failed(_error_document(error, "Runtime.ImportModuleError"))
        with contextlib.suppress(OSError):
            conn.send_bytes(encoder.encode(failure))
        return
    decoder = msgspec.json.Decoder(_Invocation)
    try:
        conn.send_bytes(encoder.encode(_Ready()))
        while True:
            invocation = decoder.decode(conn.recv_bytes())
            deadline = time.monotonic() + spec.timeout_seconds
            context = LambdaContext(spec, invocation.request_id, deadline)
            conn.send_bytes(_reply(encoder, handler, invocation.event, context, meter))
    except (EOFError, OSError):
        return  # the pool closed its end, or the parent process is gone


def _reply(
    encoder: msgspec.json.Encoder,
    handler: Any,
    event: Any,
    context: LambdaContext,
    meter: _InvocationMeter | None = None,
) -> bytes:
    if meter is not None:
        meter.start()
    try:
        result = handler(event, context)
    except Exception as error:
        usage = meter.finish() if meter is not None else None
        return encoder.encode(_Failed(_error_document(error), usage))
    usage = meter.finish() if meter is not None else None
    try:
        return encoder.encode(_Succeeded(result, usage))
    except (TypeError, msgspec.EncodeError) as error:
        # Lambda answers with JSON: a result that cannot be encoded fails the invocation.
        return encoder.encode(_Failed(_error_document(error, "Runtime.MarshalError"), usage))


class _CountingStream:
    """A text stream that counts the bytes written through it (what CloudWatch would ingest)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text.encode("utf-8", "replace"))
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _InvocationMeter:
    """Measures each invocation as Lambda bills it: duration, log bytes, AWS usage."""

    def __init__(self) -> None:
        self._out = _CountingStream(sys.stdout)
        self._err = _CountingStream(sys.stderr)
        sys.stdout, sys.stderr = self._out, self._err
        self._started = 0.0
        self._cpu_started = 0.0
        self._logged = 0

    def start(self) -> None:
        take_usage()  # what init and earlier invocations did is not this invocation's
        self._logged = self._out.written + self._err.written
        self._cpu_started = time.process_time()
        self._started = time.perf_counter()

    def finish(self) -> InvocationUsage:
        duration_ms = (time.perf_counter() - self._started) * 1000
        return InvocationUsage(
            duration_ms=duration_ms,
            cpu_ms=(time.process_time() - self._cpu_started) * 1000,
            log_bytes=self._out.written + self._err.written - self._logged,
            aws=take_usage(),
        )


def _error_document(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """An exception as Lambda reports it to the caller."""
    trace = error.__traceback__
    # Lambda's stack trace starts in the function's code, not in the runtime that called it.
    while trace is not None and trace.tb_frame.f_code.co_filename == __file__:
        trace = trace.tb_next
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(trace),
    }
