"""Lambda's SQS event source mapping, locally: long-poll a queue, invoke its consumer in batches.

As in AWS: a batch is up to ``batch_size`` messages gathered for at most the batching window;
the consumer gets Lambda's SQS event; with ``ReportBatchItemFailures`` the messages it lists as
failed stay on the queue and the rest are deleted; a function error leaves the whole batch.
Messages left behind become visible again after the visibility timeout, and SQS itself (not this
module) moves one to the dead-letter queue once it was received ``maxReceiveCount`` times.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from emulator.function_pool import FunctionError
from emulator.provision import QueueAddress
from libs.resources.events import ConsumerQueue

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef

# How long one receive waits for a message (SQS's long polling allows up to 20 s); short, so a
# stop is never held up by a poll in flight.
POLL_WAIT_SECONDS: Final = 1
RETRY_AFTER_ERROR_SECONDS: Final = 1.0
_SQS_RECEIVE_LIMIT: Final = 10
# How many message ids ``deliveries`` remembers.
_REMEMBERED_MESSAGES: Final = 10_000

log = logging.getLogger(__name__)


class Invoker(Protocol):
    """What runs the consumer: a FunctionPool."""

    async def invoke(self, event: Any) -> Any:
        """Run the function on ``event``; raise FunctionError when it fails."""


def sqs_event(messages: Sequence[MessageTypeDef], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda passes an SQS-triggered function for ``messages`` (ReceiveMessage's)."""
    records = []
    for message in messages:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _lambda_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def failed_message_ids(message_ids: Sequence[str], result: Any) -> set[str]:
    """The messages a consumer's partial batch response reports failed, by Lambda's rules.

    An absent, null or empty ``batchItemFailures`` is complete success; a malformed response,
    or an identifier that is empty or not in the batch, fails the whole batch.
    """
    everything = set(message_ids)
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        return everything
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return everything
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed


class QueueEventSource:
    """Feeds one consumer queue to its function until cancelled (``run``)."""

    def __init__(
        self,
        queue: ConsumerQueue,
        address: QueueAddress,
        function: Invoker,
        sqs: SQSClient,
        *,
        region: str,
        poll_wait_seconds: int = POLL_WAIT_SECONDS,
    ) -> None:
        self.queue = queue
        self.address = address
        self.function = function
        self.region = region
        self._sqs = sqs
        self._poll_wait_seconds = poll_wait_seconds
        self._deliveries: OrderedDict[str, int] = OrderedDict()

    def deliveries(self, message_id: str) -> int:
        """How many times a message was handed to the function (recent messages only)."""
        return self._deliveries.get(message_id, 0)

    async def run(self) -> None:
        """Poll, invoke and delete, until the task is cancelled."""
        while True:
            try:
                batch = await self.receive_batch()
                if batch:
                    await self.deliver(batch)
            except (BotoCoreError, ClientError) as error:
                log.warning("polling %s failed: %r", self.queue.name, error)
                await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)

    async def receive_batch(self) -> list[MessageTypeDef]:
        """Up to ``batch_size`` messages: waits for a first one, then fills for the window."""
        batch = await self._receive(self.queue.batch_size, self._poll_wait_seconds)
        deadline = time.monotonic() + self.queue.batching_window_seconds
        while batch and len(batch) < self.queue.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = min(int(remaining) or 1, self._poll_wait_seconds)
            batch += await self._receive(self.queue.batch_size - len(batch), wait)
        return batch

    async def deliver(self, batch: Sequence[MessageTypeDef]) -> None:
        """Invoke the function on ``batch`` and delete the messages it handled."""
        ids = [message["MessageId"] for message in batch]
        for message_id in ids:
            self._count_delivery(message_id)
        try:
            result = await self.function.invoke(sqs_event(batch, self.address.arn, self.region))
        except FunctionError as error:
            log.warning("%s failed a batch of %d: %s", self.queue.consumer, len(ids), error)
            return
        failed = failed_message_ids(ids, result) if self.queue.report_batch_item_failures else set()
        if failed:
            log.info("%s failed %d of %d messages", self.queue.consumer, len(failed), len(ids))
        handled = [message for message in batch if message["MessageId"] not in failed]
        for start in range(0, len(handled), _SQS_RECEIVE_LIMIT):
            chunk = handled[start : start + _SQS_RECEIVE_LIMIT]
            await self._sqs.delete_message_batch(
                QueueUrl=self.address.url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )

    async def _receive(self, count: int, wait_seconds: int) -> list[MessageTypeDef]:
        response = await self._sqs.receive_message(
            QueueUrl=self.address.url,
            MaxNumberOfMessages=min(count, _SQS_RECEIVE_LIMIT),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _count_delivery(self, message_id: str) -> None:
        self._deliveries[message_id] = self._deliveries.pop(message_id, 0) + 1
        while len(self._deliveries) > _REMEMBERED_MESSAGES:
            self._deliveries.popitem(last=False)


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda spells it (camelCase, binary values base64-encoded)."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute
