"""The outbox relay's failure records: what Lambda sends, and how a replay reads their range."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from ops.relay_replay import RangeUnreadable, StreamBatchInfo, failure_record, read_range

if TYPE_CHECKING:
    from types_aiobotocore_sqs.type_defs import MessageTypeDef

# The on-failure record of a DynamoDB stream event source mapping, as AWS's Lambda guide shows it.
DOCUMENTED_RECORD = {
    "requestContext": {
        "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1,
    },
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    },
    "version": "1.0",
    "timestamp": "2019-11-14T00:38:06.021Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:38:05Z",
        "batchSize": 1,
        "streamArn": (
            "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
        ),
    },
}


def batch(start: int, end: int) -> StreamBatchInfo:
    return StreamBatchInfo(
        shard_id="shardId-00000001573689847184-864758bb",
        start_sequence_number=str(start),
        end_sequence_number=str(end),
        stream_arn="arn:aws:dynamodb:us-east-2:123456789012:table/t/stream/2019-11-14T00:04:06.388",
    )


def record(sequence_number: int) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(sequence_number)}}


class FakeStream:
    """A shard served in ``pages`` (a page per GetRecords), or refusing with ``refusal``."""

    def __init__(
        self, pages: list[list[dict[str, Any]]], *, open_: bool = True, refusal: str = ""
    ) -> None:
        self.pages = pages
        self.open = open_
        self.refusal = refusal
        self.positions: list[str] = []

    async def get_shard_iterator(self, **request: Any) -> dict[str, Any]:
        if self.refusal:
            raise ClientError(
                {"Error": {"Code": self.refusal, "Message": "refused"}}, "GetShardIterator"
            )
        self.positions.append(f"{request['ShardIteratorType']} {request['SequenceNumber']}")
        return {"ShardIterator": "0"}

    async def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        index = int(ShardIterator)
        page = self.pages[index] if index < len(self.pages) else []
        last = index + 1 >= len(self.pages)
        following = None if last and not self.open else str(index + 1)
        return {"Records": page, "NextShardIterator": following}


def test_lambdas_documented_failure_record_gives_the_range_and_how_long_it_stays_readable() -> None:
    # Given the record Lambda sends after giving up on a batch
    message: MessageTypeDef = {"MessageId": "m-1", "Body": json.dumps(DOCUMENTED_RECORD)}
    # When it is read
    failure = failure_record(message)
    # Then it names the shard, the range and its size, why Lambda gave up, and when
    assert failure.batch.shard_id == "shardId-00000001573689847184-864758bb"
    assert failure.batch.start_sequence_number == failure.batch.end_sequence_number
    assert failure.batch.batch_size == 1
    assert failure.request_context.condition == "RetryAttemptsExhausted"
    # And the range can be read until its first record is 24 hours old
    assert failure.readable_until == datetime(2019, 11, 15, 0, 38, 4, tzinfo=UTC)


async def test_a_range_is_read_from_its_first_record_across_pages_up_to_its_last() -> None:
    # Given a shard whose records before, within and after the range come over three pages
    # (sequence numbers grow but skip values, as DynamoDB's do)
    stream = FakeStream([[record(100), record(105)], [], [record(230), record(400)]])
    # When the range 100..230 is read
    records = await read_range(stream, batch(100, 230))
    # Then it starts at its first sequence number and stops at its last
    assert stream.positions == ["AT_SEQUENCE_NUMBER 100"]
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == ["100", "105", "230"]


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        ("TrimmedDataAccessException", "aged out of the stream"),
        ("ResourceNotFoundException", "stream or shard is gone"),
    ],
)
async def test_a_range_the_stream_no_longer_holds_is_unreadable_and_says_why(
    refusal: str, reason: str
) -> None:
    # Given a stream that refuses the range: trimmed after 24 hours, or its shard gone
    stream = FakeStream([], refusal=refusal)
    # When the range is read, Then it is unreadable, and the reason says which
    with pytest.raises(RangeUnreadable, match=reason):
        await read_range(stream, batch(100, 230))


@pytest.mark.parametrize("open_", [True, False])
async def test_a_shard_that_ends_before_the_range_does_is_unreadable(open_: bool) -> None:
    # Given a shard (still open, or closed) whose records stop short of the range's end
    stream = FakeStream([[record(100), record(105)]], open_=open_)
    # When the range is read, Then it is unreadable rather than replayed in part
    with pytest.raises(RangeUnreadable, match="none at or past sequence number 230"):
        await read_range(stream, batch(100, 230))
