"""Fixtures shared by the integration tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from libs.sealed_fields import FieldSealer
from services.notifications.recipients import PhoneOpener
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_kms import KMSClient
    from types_aiobotocore_sqs import SQSClient


@pytest.fixture(scope="session")
def relay_aws(dynamodb_streams: Any, events: EventBridgeClient, sqs: SQSClient) -> dict[str, Any]:
    """The clients the outbox relay's tests read the stream and the bus with, by their role."""
    return {"streams": dynamodb_streams, "events": events, "sqs": sqs}


@pytest.fixture(scope="session")
def sealer(stack: SystemUnderTest) -> FieldSealer:
    """A container's sealer of personal fields, with the stack's key."""
    return FieldSealer(stack.outputs.pii_key_arn)


@pytest.fixture
def phones(sealer: FieldSealer, kms: KMSClient) -> PhoneOpener:
    """What the notifications consumer opens a profile's sealed phone with."""
    return PhoneOpener(sealer, kms)
