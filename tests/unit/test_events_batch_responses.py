"""The local event source mapping's pure parts: Lambda's SQS event, and partial batch responses."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from emulator.event_source_mapping import failed_message_ids, sqs_event

IDS = ["m-1", "m-2", "m-3"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, {"m-2"}),
        (
            {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]},
            {"m-1", "m-3"},
        ),
        # Lambda fails the whole batch for a response it cannot trust.
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"messageId": "m-1"}]}, set(IDS)),
        ({"batchItemFailures": "m-1"}, set(IDS)),
        ("ok", set(IDS)),
    ],
    ids=[
        "null",
        "empty",
        "null-list",
        "empty-list",
        "one",
        "two",
        "unknown-id",
        "empty-id",
        "null-id",
        "bad-key",
        "not-a-list",
        "not-an-object",
    ],
)
def test_partial_batch_responses_follow_lambdas_rules(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(IDS, result) == failed


def test_an_sqs_event_has_the_shape_lambda_gives_it() -> None:
    message: Any = {
        "MessageId": "m-1",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": "md5",
        "Body": '{"detail": {}}',
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "MD5OfMessageAttributes": "md5-attributes",
        "MessageAttributes": {
            "kind": {"StringValue": "test", "DataType": "String"},
            "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
        },
    }
    arn = "arn:aws:sqs:us-east-1:123456789012:q"
    (record,) = sqs_event([message], arn, "us-east-1")["Records"]
    assert record == {
        "messageId": "m-1",
        "receiptHandle": "handle-1",
        "body": '{"detail": {}}',
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "messageAttributes": {
            "kind": {
                "stringValue": "test",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "blob": {
                "binaryValue": base64.b64encode(b"\x00\x01").decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "md5",
        "md5OfMessageAttributes": "md5-attributes",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    }
