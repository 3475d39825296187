"""Outbox relay function: the table's stream → the outbox events it carries → the event bus.

Lambda's event source mapping (``stacks/functions.py``) delivers only INSERTs of outbox items, a
shard's records in order; a failed PutEvents is reported as a partial batch failure so the shard
resumes from that record. Locally the emulator runs the same relay (``emulator/event_relay.py``).
"""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from libs.aws_clients import AwsClients
from libs.config import settings
from libs.container_loop import ContainerLoop
from libs.init_phase import end_init
from libs.resources.metrics import EVENTS_RELAYED, metrics_namespace
from libs.tracing import function_tracer
from services.event_relay.stream_batch import relay_batch

SERVICE = "event-relay"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=metrics_namespace(SERVICE), service=SERVICE)
tracer = function_tracer(SERVICE)  # None where X-Ray does not trace
clients = AwsClients()
loop = ContainerLoop()


async def relay(event: dict[str, Any]) -> dict[str, Any]:
    """Relay one batch of stream records; the partial batch response."""
    records = event.get("Records") or []
    relayed = await relay_batch(await clients.events(), settings().event_bus_name, records)
    logger.info(
        "batch relayed",
        extra={
            "records": len(records),
            "published": relayed.published,
            "resume_from": relayed.resume_from,
            # How a request's events are found here: the ids of the requests that caused them.
            "correlation_ids": list(relayed.correlation_ids),
        },
    )
    metrics.add_metric(name=EVENTS_RELAYED.name, unit="Count", value=relayed.published)
    return relayed.batch_response()


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    end_init()  # the first invocation ends init (a no-op afterwards)
    return loop.run(relay(event))


_traced = (
    _handle if tracer is None else tracer.capture_lambda_handler(_handle, capture_response=False)
)
# Lambda's entrypoint: the batch runs on the container's event loop.
handler = metrics.log_metrics(capture_cold_start_metric=True)(
    logger.inject_lambda_context(clear_state=True)(_traced)
)
