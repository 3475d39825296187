"""The runtime of an SQS-triggered function: one loop per container, one outcome per message.

Lambda's event source mapping hands the function a batch; each message is handled on its own and
the function answers with the ids of the ones that failed (``ReportBatchItemFailures``), so a bad
message is retried, and eventually dead-lettered, alone instead of with its whole batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from libs.aws_clients import AwsClients
from libs.lambda_function import LambdaFunction
from libs.resources.metrics import MESSAGES_FAILED

MessageHandler = Callable[[SQSRecord], Awaitable[None]]


class QueueFunction(LambdaFunction):
    """A service's queue consumer: a message handler run on every message of each batch."""

    def __init__(self, service: str, *, clients: AwsClients | None = None) -> None:
        super().__init__(service, clients=clients)
        self._handle_message: MessageHandler | None = None

    def each_message(self, func: MessageHandler) -> MessageHandler:
        """Register the coroutine handling one message; raising marks that message failed."""
        self._handle_message = func
        return func

    def log_context(self, **keys: str | None) -> None:
        """Add ``keys`` to every later log line of the message being handled (None: left out).

        Messages of a batch run concurrently, each in a task of its own: the keys live in the
        task's context (Powertools' thread-safe keys are a ContextVar), not in the logger's.
        """
        self.logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})

    async def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Handle each message of an SQS batch; the ids of those that failed."""
        if self._handle_message is None:
            raise RuntimeError(f"{self.service} registered no message handler")
        records = list(SQSEvent(event).records)
        # Messages of a standard queue carry no order, so a batch is handled concurrently.
        handled = await asyncio.gather(*(self._handle_one(record) for record in records))
        failed = [record.message_id for record, ok in zip(records, handled, strict=True) if not ok]
        self.logger.info("batch handled", extra={"messages": len(records), "failed": len(failed)})
        if failed:
            self.metrics.add_metric(name=MESSAGES_FAILED.name, unit="Count", value=len(failed))
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    async def _handle_one(self, record: SQSRecord) -> bool:
        assert self._handle_message is not None
        try:
            await self._handle_message(record)
        except Exception:
            self.logger.exception(
                "message failed",
                extra={
                    "message_id": record.message_id,
                    "receive_count": record.attributes.approximate_receive_count,
                },
            )
            return False
        return True
