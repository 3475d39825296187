"""The notifications consumer's transaction (marker + notification), cancelled for each reason.

Its DynamoDB client reaches the emulator through the answering proxy (emulator/faults.py). A
failed condition on the marker is a concurrent delivery: the event counts as a duplicate.
Contention, capacity or a refusal raise, so the message fails and SQS delivers it again; in no
case is half the transaction written.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import get_session
from aws_lambda_powertools import Logger

from emulator.faults import AwsAnswer, FaultProxy, transaction_cancelled
from libs.domain_events import OrderStatusChanged, utc_now
from libs.table_keys import as_key, marker_key
from libs.transactions import ATTEMPTS, TransactionBusy, TransactionRefused
from services.notifications import notification_table
from services.notifications.channels import LocalChannels
from services.notifications.notifying import handle_event
from services.notifications.recipients import PhoneOpener
from tests.system_under_test import SystemUnderTest, client_options

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator("puts an answering proxy between the client and AWS"),
]


@pytest.fixture
async def proxy(stack: SystemUnderTest) -> AsyncIterator[tuple[FaultProxy, str]]:
    """An answering proxy in front of the stack's endpoint, and its URL."""
    proxy = FaultProxy(stack.endpoint_url)
    url = await proxy.start()
    yield proxy, url
    await proxy.close()


@pytest.fixture
async def proxied_dynamodb(
    stack: SystemUnderTest, proxy: tuple[FaultProxy, str]
) -> AsyncIterator[DynamoDBClient]:
    """A DynamoDB client reaching the stack through the proxy."""
    options = client_options(stack) | {"endpoint_url": proxy[1]}
    async with get_session().create_client("dynamodb", **options) as client:
        yield client


def shipped() -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        previous_status="CONFIRMED",
        status="SHIPPED",
        version=3,
        occurred_at=utc_now(),
    )


async def nothing_written(db: DynamoDBClient, table: str, event: OrderStatusChanged) -> bool:
    marker = await db.get_item(TableName=table, Key=as_key(marker_key(event.event_id)))
    page = await notification_table.notifications_of_user(
        db, table, event.user_id, limit=10, cursor=None
    )
    return "Item" not in marker and page.items == []


async def test_a_delivery_losing_the_race_for_the_marker_is_a_duplicate(
    proxy: tuple[FaultProxy, str],
    proxied_dynamodb: DynamoDBClient,
    dynamodb: DynamoDBClient,
    table_name: str,
    phones: PhoneOpener,
) -> None:
    # Given an event already handled, and a second delivery whose look-up misses the marker
    channels = LocalChannels(Logger(service="notifications-tests"))
    event = shipped()
    assert await handle_event(dynamodb, table_name, channels, event, phones) == "notified"
    proxy[0].answers = [AwsAnswer("GetItem", {}, status=200, times=1)]
    # When the second delivery is handled, Then the table cancels its transaction on the marker
    # and the event counts as a duplicate: one notification still
    outcome = await handle_event(proxied_dynamodb, table_name, channels, event, phones)
    assert outcome == "duplicate"
    page = await notification_table.notifications_of_user(
        dynamodb, table_name, event.user_id, limit=10, cursor=None
    )
    assert [n.notification_id for n in page.items] == [event.event_id]


@pytest.mark.parametrize(
    ("reasons", "raised", "tries"),
    [
        (("TransactionConflict", "None"), TransactionBusy, ATTEMPTS),
        (("None", "ThrottlingError"), TransactionBusy, ATTEMPTS),
        (("ProvisionedThroughputExceeded", "None"), TransactionBusy, ATTEMPTS),
        (("None", "ValidationError"), TransactionRefused, 1),
    ],
    ids=["conflict", "throttled", "capacity", "validation"],
)
async def test_a_cancelled_notification_fails_the_message_and_writes_nothing(
    proxy: tuple[FaultProxy, str],
    proxied_dynamodb: DynamoDBClient,
    dynamodb: DynamoDBClient,
    table_name: str,
    reasons: tuple[str, ...],
    raised: type[Exception],
    tries: int,
    phones: PhoneOpener,
) -> None:
    # Given every transaction is cancelled for ``reasons``
    answer = transaction_cancelled(*reasons)
    proxy[0].answers = [answer]
    channels = LocalChannels(Logger(service="notifications-tests"))
    event = shipped()
    # When the event is handled, Then it raises (the message is delivered again) after ``tries``
    with pytest.raises(raised):
        await handle_event(proxied_dynamodb, table_name, channels, event, phones)
    assert answer.answered == tries
    # And neither the marker nor the notification was written
    assert await nothing_written(dynamodb, table_name, event)
