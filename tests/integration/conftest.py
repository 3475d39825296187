"""Fixtures shared by the integration tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient


@pytest.fixture(scope="session")
def relay_aws(dynamodb_streams: Any, events: EventBridgeClient, sqs: SQSClient) -> dict[str, Any]:
    """The clients the outbox relay's tests read the stream and the bus with, by their role."""
    return {"streams": dynamodb_streams, "events": events, "sqs": sqs}
