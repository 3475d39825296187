"""The SQS consumer runtime: every message handled on its own, failures reported by message id."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from libs.queue_function import QueueFunction
from tests.lambda_context import as_lambda_context


@dataclass
class Context:
    """The attributes of Lambda's context that Powertools reads."""

    function_name: str = "consumer"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "request-1"
    log_group_name: str = "/aws/lambda/consumer"
    log_stream_name: str = "stream"


def batch(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def a_consumer() -> tuple[QueueFunction, list[str], list[asyncio.AbstractEventLoop]]:
    consumer = QueueFunction("tests")
    handled: list[str] = []
    loops: list[asyncio.AbstractEventLoop] = []

    @consumer.each_message
    async def handle(record: SQSRecord) -> None:
        loops.append(asyncio.get_running_loop())
        if record.body.startswith("bad"):
            raise ValueError(f"cannot handle {record.body}")
        handled.append(record.body)

    return consumer, handled, loops


def test_only_the_failed_messages_are_reported() -> None:
    consumer, handled, _ = a_consumer()
    response = consumer.handler(batch("a", "bad-1", "b", "bad-2"), as_lambda_context(Context()))
    assert sorted(handled) == ["a", "b"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}


def test_a_batch_without_failures_reports_none() -> None:
    consumer, handled, _ = a_consumer()
    assert consumer.handler(batch("a", "b"), as_lambda_context(Context())) == {
        "batchItemFailures": []
    }
    assert sorted(handled) == ["a", "b"]


def test_invocations_of_one_container_share_its_event_loop() -> None:
    consumer, _, loops = a_consumer()
    consumer.handler(batch("a"), as_lambda_context(Context()))
    consumer.handler(batch("b"), as_lambda_context(Context()))
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert not loops[0].is_closed()
