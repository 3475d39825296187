"""X-Ray in Lambda: tracing only where it is on, and AWS calls awaited together traced apart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

from libs.tracing import task_local_lambda_context, tracing_enabled

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class CapturingEmitter(UDPEmitter):
    """Keeps what the recorder would send to the X-Ray daemon."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Any] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity)

    def set_daemon_address(self, address: str | None) -> None:
        pass


@pytest.fixture
def lambda_recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A recorder as X-Ray builds it in a traced Lambda invocation, with our context."""
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core.async_recorder import AsyncAWSXRayRecorder

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(context=task_local_lambda_context(), emitter=CapturingEmitter())
    yield recorder
    global_sdk_config.set_sdk_enabled(enabled)


def test_two_calls_awaited_together_each_close_their_own_subsegment(lambda_recorder: Any) -> None:
    # Given an invocation's handler subsegment, opened outside the event loop as Powertools does
    handler = lambda_recorder.begin_subsegment("## handler")

    async def call(name: str, seconds: float) -> None:
        async with lambda_recorder.in_subsegment_async(name):
            await asyncio.sleep(seconds)
            # Annotating "the current subsegment" after the other call started and ended
            lambda_recorder.current_subsegment().put_annotation("call", name)

    async def fan_out() -> None:
        await asyncio.gather(call("first", 0.01), call("second", 0.03))

    # When two calls start together and the first ends while the second is still open
    asyncio.run(fan_out())
    lambda_recorder.end_subsegment()

    # Then each annotated and closed its own subsegment, both children of the handler's
    sent = {entity.name: entity.to_dict() for entity in lambda_recorder.emitter.sent}
    assert set(sent) == {"## handler", "first", "second"}
    for name in ("first", "second"):
        assert sent[name]["parent_id"] == handler.id
        assert sent[name]["annotations"] == {"call": name}
    assert not any(entity.in_progress for entity in lambda_recorder.emitter.sent)


@pytest.mark.parametrize(
    ("environ", "traced"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_only_in_lambda_unless_switched_off(
    environ: dict[str, str], traced: bool
) -> None:
    assert tracing_enabled(environ) is traced
