"""The emulator's floor: the calls the busiest routes make, sent straight to it, nothing around.

GET /products/{productId} is one GetItem and GET /products one Query on GSI1; sent with the
same concurrency the function containers use, they show how many calls per second the emulator
alone serves, at what latency and CPU per call, so a load step's figures can be read against it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from libs.stack_outputs import StackOutputs, client_options


@dataclass(frozen=True, slots=True)
class FloorResult:
    """One call measured alone against the emulator."""

    call: str
    concurrency: int
    calls_per_second: float
    p50_ms: float
    p99_ms: float
    emulator_cores: float | None  # cores the emulator's process used meanwhile

    @property
    def emulator_ms_per_call(self) -> float | None:
        """Emulator CPU milliseconds per call."""
        if self.emulator_cores is None or not self.calls_per_second:
            return None
        return 1000 * self.emulator_cores / self.calls_per_second


async def measure_floor(
    outputs: StackOutputs,
    emulator_cpu_seconds: Callable[[], float | None],
    *,
    concurrency: int = 8,
    seconds: float = 5.0,
) -> list[FloorResult]:
    """GetItem and the category Query, each sent ``concurrency`` at a time for ``seconds``."""
    config = AioConfig(max_pool_connections=concurrency)
    options: dict[str, Any] = {**client_options(outputs), "config": config}
    table = outputs.table_name
    async with get_session().create_client("dynamodb", **options) as dynamodb:
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "GetItem (GET /products/{productId})": lambda: dynamodb.get_item(
                TableName=table,
                Key={"PK": {"S": "PRODUCT#usb-c-hub"}, "SK": {"S": "INFO"}},
            ),
            "Query GSI1 (GET /products)": lambda: dynamodb.query(
                TableName=table,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :category",
                ExpressionAttributeValues={":category": {"S": "CATEGORY#books"}},
                Limit=20,
            ),
        }
        return [
            await _measure(name, call, emulator_cpu_seconds, concurrency, seconds)
            for name, call in calls.items()
        ]


async def _measure(
    name: str,
    call: Callable[[], Awaitable[Any]],
    emulator_cpu_seconds: Callable[[], float | None],
    concurrency: int,
    seconds: float,
) -> FloorResult:
    await call()  # the connection and the client's model, outside the measurement
    latencies: list[float] = []
    cpu_before, started = emulator_cpu_seconds(), time.monotonic()
    deadline = started + seconds

    async def caller() -> None:
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    cpu_after = emulator_cpu_seconds()
    latencies.sort()
    cores = (
        (cpu_after - cpu_before) / elapsed
        if cpu_before is not None and cpu_after is not None
        else None
    )
    return FloorResult(
        call=name,
        concurrency=concurrency,
        calls_per_second=len(latencies) / elapsed,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[int(len(latencies) * 0.99)],
        emulator_cores=cores,
    )
