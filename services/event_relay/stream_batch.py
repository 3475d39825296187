"""One batch of the table's stream, relayed in order: what was published, and where to resume.

Lambda hands a stream consumer a shard's records in order. The batch is published in PutEvents
calls of up to ten records; when a call fails, the batch stops there and reports that call's first
record, so Lambda retries from it (earlier records are done; later ones were never attempted).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

from libs.domain_events import EventPublishError
from libs.outbox import OutboxEvent, relay_records

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient

# PutEvents takes at most ten entries; a stream record carries at most one outbox event.
RECORDS_PER_CALL: Final = 10

log = logging.getLogger(__name__)


class RelayedBatch(msgspec.Struct, frozen=True):
    """How far a batch got: events published, and the record to resume from (None: all done)."""

    published: int
    resume_from: str | None  # the SequenceNumber of the first record not known to be published
    # The correlation ids the published events carry, for the relay's log line.
    correlation_ids: tuple[str, ...] = ()

    def batch_response(self) -> dict[str, Any]:
        """Lambda's partial batch response: a stream resumes from the reported record."""
        failures = [] if self.resume_from is None else [{"itemIdentifier": self.resume_from}]
        return {"batchItemFailures": failures}


async def relay_batch(
    events: EventBridgeClient, bus_name: str, records: Sequence[Mapping[str, Any]]
) -> RelayedBatch:
    """Publish the outbox events among ``records`` in order, stopping at the first failed call."""
    published: list[OutboxEvent] = []
    for start in range(0, len(records), RECORDS_PER_CALL):
        chunk = records[start : start + RECORDS_PER_CALL]
        try:
            published += await relay_records(events, bus_name, chunk)
        except (EventPublishError, ClientError, BotoCoreError) as error:
            sequence_number: str = chunk[0]["dynamodb"]["SequenceNumber"]
            log.warning("relay stopped at record %s: %r", sequence_number, error)
            return _relayed(published, resume_from=sequence_number)
    return _relayed(published, resume_from=None)


class _Correlated(msgspec.Struct, rename="camel"):
    correlation_id: str | None = None


def _relayed(published: list[OutboxEvent], *, resume_from: str | None) -> RelayedBatch:
    details = (msgspec.json.decode(event.detail, type=_Correlated) for event in published)
    ids = tuple(detail.correlation_id for detail in details if detail.correlation_id)
    return RelayedBatch(published=len(published), resume_from=resume_from, correlation_ids=ids)
