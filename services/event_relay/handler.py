"""Outbox relay function: the table's stream → the outbox events it carries → the event bus.

Lambda's event source mapping (``stacks/functions.py``) delivers only INSERTs of outbox items, a
shard's records in order; a failed PutEvents is reported as a partial batch failure so the shard
resumes from that record. Locally the emulator runs the same relay (``emulator/event_relay.py``).
"""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from libs.config import settings
from libs.lambda_function import LambdaFunction
from libs.resources.metrics import EVENTS_RELAYED
from services.event_relay.stream_batch import relay_batch

SERVICE = "event-relay"


class RelayFunction(LambdaFunction):
    """The stream consumer: each batch's outbox events go to the bus, in order."""

    async def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Relay one batch of stream records; the partial batch response."""
        records = event.get("Records") or []
        events = await self.clients.events()
        relayed = await relay_batch(events, settings().event_bus_name, records)
        self.logger.info(
            "batch relayed",
            extra={
                "records": len(records),
                "published": relayed.published,
                "resume_from": relayed.resume_from,
                # How a request's events are found here: the ids of the requests behind them.
                "correlation_ids": list(relayed.correlation_ids),
            },
        )
        self.metrics.add_metric(name=EVENTS_RELAYED.name, unit="Count", value=relayed.published)
        return relayed.batch_response()


relay_function = RelayFunction(SERVICE)
# Lambda's entrypoint: the batch runs on the container's event loop.
handler = relay_function.handler
