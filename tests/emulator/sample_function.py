"""A handler for the function pool's tests: each event names what the container should do."""

from __future__ import annotations

import os
import time
from typing import Any

# Module state lives as long as the container: a warm container keeps counting.
INVOCATIONS = 0


def handler(event: dict[str, Any], context: Any) -> Any:
    """Do what ``event["action"]`` says and describe the container that did it."""
    global INVOCATIONS
    INVOCATIONS += 1
    action = event.get("action")
    if action == "raise":
        raise ValueError(event.get("message", "boom"))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    if action == "log":
        print(event["text"])
    if action == "dynamodb":  # one DynamoDB call, with the SDK as a function makes it
        import boto3

        client = boto3.client(
            "dynamodb", endpoint_url=event["endpoint_url"], region_name=event["region"]
        )
        getattr(client, event["operation"])(**event["parameters"])
    return {
        "pid": os.getpid(),
        "invocations": INVOCATIONS,
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "environment": {
            name: os.environ.get(name)
            for name in (
                "SAMPLE_SETTING",
                "AWS_LAMBDA_FUNCTION_NAME",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_DEV",
            )
        },
    }
