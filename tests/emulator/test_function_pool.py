"""Local Lambda containers: one process each, reused when warm, replaced when they fail."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.function_pool import FunctionError, FunctionPool, FunctionTimeout
from libs.resources.functions import FunctionDeclaration

# The child imports this by name from the task root (the repository root), as Lambda would.
SAMPLE = FunctionDeclaration(
    service="sample", handler="tests.emulator.sample_function.handler", timeout_seconds=2
)


def _pool(declaration: FunctionDeclaration = SAMPLE, **options: Any) -> FunctionPool:
    return FunctionPool(declaration, {"SAMPLE_SETTING": "from-the-stack"}, **options)


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    pool = _pool(function_name="blueprint-sample", max_containers=3)
    yield pool
    pool.close()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_concurrent_invocations_run_in_separate_processes(pool: FunctionPool) -> None:
    # Given a pool allowed three containers
    # When three invocations overlap
    results = await asyncio.gather(
        *(pool.invoke({"action": "sleep", "seconds": 0.5}) for _ in range(3))
    )
    # Then each ran in its own process, none of them this one
    pids = {result["pid"] for result in results}
    assert len(pids) == 3
    assert os.getpid() not in pids
    assert pool.size == 3


async def test_pids_are_the_processes_that_served_invocations(pool: FunctionPool) -> None:
    # Given two overlapping invocations, so two containers
    results = await asyncio.gather(
        *(pool.invoke({"action": "sleep", "seconds": 0.3}) for _ in range(2))
    )
    # Then the pool lists exactly those containers' processes
    assert sorted(pool.pids) == sorted(result["pid"] for result in results)


async def test_warm_container_is_reused_with_its_module_state(pool: FunctionPool) -> None:
    first = await pool.invoke({"n": 1})
    second = await pool.invoke({"n": 2})
    assert second["pid"] == first["pid"]
    assert (first["invocations"], second["invocations"]) == (1, 2)
    assert second["event"] == {"n": 2}
    assert pool.size == 1


async def test_scale_out_stops_at_max_containers() -> None:
    # Given a pool capped at two containers
    pool = _pool(max_containers=2)
    try:
        # When four invocations arrive at once
        results = await asyncio.gather(
            *(pool.invoke({"action": "sleep", "seconds": 0.3}) for _ in range(4))
        )
    finally:
        pool.close()
    # Then all four were served, by two containers taking turns
    assert len(results) == 4
    assert len({result["pid"] for result in results}) == 2


async def test_handler_gets_lambdas_context_and_environment(pool: FunctionPool) -> None:
    result = await pool.invoke({})
    assert result["function_name"] == "blueprint-sample"
    assert result["function_version"] == "$LATEST"
    assert result["invoked_function_arn"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:blueprint-sample"
    )
    assert result["memory_limit_in_mb"] == 1024
    assert result["log_group_name"] == "/aws/lambda/blueprint-sample"
    assert len(result["aws_request_id"]) == 36
    assert 0 < result["remaining_ms"] <= 2000
    assert result["environment"] == {
        "SAMPLE_SETTING": "from-the-stack",
        "AWS_LAMBDA_FUNCTION_NAME": "blueprint-sample",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "POWERTOOLS_SERVICE_NAME": "sample",
        "POWERTOOLS_DEV": None,
    }


async def test_each_invocation_has_its_own_request_id(pool: FunctionPool) -> None:
    first, second = await pool.invoke({}), await pool.invoke({})
    assert first["aws_request_id"] != second["aws_request_id"]


async def test_host_developer_mode_does_not_reach_the_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Powertools' developer mode switched on in the host's environment
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    pool = _pool()
    try:
        # When a container starts, Then the function does not see it (Lambda would not)
        assert (await pool.invoke({}))["environment"]["POWERTOOLS_DEV"] is None
    finally:
        pool.close()


async def test_exception_comes_back_as_lambdas_error_document(pool: FunctionPool) -> None:
    # When the handler raises
    with pytest.raises(FunctionError) as raised:
        await pool.invoke({"action": "raise", "message": "no such product"})
    # Then the caller gets Lambda's error document, with the handler's frames only
    payload = raised.value.payload
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "no such product"
    assert "sample_function.py" in payload["stackTrace"][0]
    assert not any("function_pool.py" in frame for frame in payload["stackTrace"])
    assert not isinstance(raised.value, FunctionTimeout)


async def test_container_survives_a_handler_exception(pool: FunctionPool) -> None:
    before = await pool.invoke({})
    with pytest.raises(FunctionError):
        await pool.invoke({"action": "raise"})
    after = await pool.invoke({})
    assert after["pid"] == before["pid"]
    assert after["invocations"] == 3


async def test_timeout_kills_the_container_and_a_new_one_serves_next(pool: FunctionPool) -> None:
    # Given a warm container
    before = await pool.invoke({})
    # When an invocation outlives the declared 2 s timeout
    with pytest.raises(FunctionTimeout) as raised:
        await pool.invoke({"action": "sleep", "seconds": 30})
    # Then it fails like Lambda's timeout, and that container is gone
    assert raised.value.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in raised.value.payload["errorMessage"]
    assert not _process_exists(before["pid"])
    # And the next invocation gets a fresh container
    after = await pool.invoke({})
    assert after["pid"] != before["pid"]
    assert after["invocations"] == 1


async def test_dead_container_is_replaced(pool: FunctionPool) -> None:
    before = await pool.invoke({})
    with pytest.raises(FunctionError) as raised:
        await pool.invoke({"action": "exit"})
    assert raised.value.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in raised.value.payload["errorMessage"]
    after = await pool.invoke({})
    assert after["pid"] != before["pid"]


async def test_container_killed_while_idle_is_replaced(pool: FunctionPool) -> None:
    before = await pool.invoke({})
    os.kill(before["pid"], 9)
    await asyncio.sleep(0.1)
    after = await pool.invoke({})
    assert after["pid"] != before["pid"]
    assert pool.size == 1


async def test_module_that_cannot_be_imported_fails_each_invocation() -> None:
    broken = FunctionDeclaration(service="broken", handler="tests.emulator.no_such_module.handler")
    pool = _pool(broken)
    try:
        with pytest.raises(FunctionError) as raised:
            await pool.invoke({})
    finally:
        pool.close()
    assert raised.value.payload["errorType"] == "Runtime.ImportModuleError"
    assert "no_such_module" in raised.value.payload["errorMessage"]
    assert pool.size == 0


async def test_prewarm_starts_containers_before_the_first_invocation() -> None:
    pool = _pool(max_containers=3)
    try:
        # Given two containers started ahead of any invocation
        await pool.prewarm(2)
        assert pool.size == 2
        # When two invocations arrive together (each holds its container for a second, so
        # neither can be served after the other by the same container)
        results = await asyncio.gather(
            *(pool.invoke({"action": "sleep", "seconds": 1}) for _ in range(2))
        )
        # Then the prewarmed containers serve them, each its first invocation, none started anew
        assert [result["invocations"] for result in results] == [1, 1]
        assert len({result["pid"] for result in results}) == 2
        assert pool.size == 2
    finally:
        pool.close()


async def test_close_ends_every_container_and_refuses_new_invocations() -> None:
    pool = _pool(max_containers=2)
    results = await asyncio.gather(
        *(pool.invoke({"action": "sleep", "seconds": 0.2}) for _ in range(2))
    )
    pool.close()
    assert not any(_process_exists(result["pid"]) for result in results)
    assert pool.size == 0
    with pytest.raises(RuntimeError, match="closed"):
        await pool.invoke({})


async def test_cancelled_invocation_frees_its_slot() -> None:
    # Given a one-container pool whose container is busy with a long invocation
    pool = _pool(max_containers=1)
    try:
        busy = asyncio.create_task(pool.invoke({"action": "sleep", "seconds": 300}))
        await asyncio.sleep(1)
        # When the caller gives up on it
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy
        # Then the next invocation is served promptly, by a new container
        result = await asyncio.wait_for(pool.invoke({}), timeout=60)
        assert result["invocations"] == 1
        assert pool.size == 1
    finally:
        pool.close()


async def test_cancelled_waiter_does_not_lose_the_container() -> None:
    # Given a one-container pool, busy, with a second invocation waiting for it
    pool = _pool(max_containers=1)
    try:
        busy = asyncio.create_task(pool.invoke({"action": "sleep", "seconds": 0.5}))
        await asyncio.sleep(0.2)
        waiting = asyncio.create_task(pool.invoke({}))
        await asyncio.sleep(0.1)
        # When the waiting invocation is cancelled before the container frees up
        waiting.cancel()
        first = await busy
        # Then the container goes back to the pool and serves the next invocation
        second = await asyncio.wait_for(pool.invoke({}), timeout=5)
        assert second["pid"] == first["pid"]
        assert pool.size == 1
    finally:
        pool.close()


async def test_container_is_handed_to_a_caller_on_another_event_loop() -> None:
    # Given a one-container pool busy on this event loop
    pool = _pool(max_containers=1)
    try:
        busy = asyncio.create_task(pool.invoke({"action": "sleep", "seconds": 0.5}))
        await asyncio.sleep(0.2)
        # When a thread with its own event loop invokes the same function meanwhile
        other_loop = asyncio.to_thread(asyncio.run, pool.invoke({}))
        first, second = await asyncio.gather(busy, other_loop)
        # Then it waits its turn and is served by the same warm container
        assert second["pid"] == first["pid"]
        assert second["invocations"] == 2
    finally:
        pool.close()
