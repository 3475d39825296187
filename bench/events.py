"""Payload 2.0 events and a Lambda context, as the local gateway and Lambda would pass them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

ACCOUNT_ID = "123456789012"


class BenchContext:
    """The ``context`` attributes Powertools reads."""

    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_event(
    route_key: str,
    path: str,
    claims: dict[str, str],
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An authenticated API Gateway HTTP API event (payload 2.0) with verified JWT claims."""
    now = time.time()
    method = route_key.split(" ", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {
            "host": "localhost:3000",
            "user-agent": "bench",
            "content-type": "application/json",
            "x-forwarded-for": "127.0.0.1",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": "localhost:3000",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The same request again, with its own request id (as every API Gateway request has)."""
    context = {**event["requestContext"], "requestId": str(uuid.uuid4())}
    return {**event, "requestContext": context}
