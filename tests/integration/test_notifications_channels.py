"""The AWS channels against the emulator: email through SES to the user's Cognito address, SMS
through SNS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from emulator.function_pool import ACCOUNT_ID
from emulator.local_system import LocalSystem
from services.notifications.channels import AwsChannels, ChannelClients, Delivery
from tests.accounts import SignedInUser

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator("sends to example.com addresses from an unverified sender"),
]

SENDER = "notifications@example.com"


@pytest.fixture
async def channels(
    stack: LocalSystem, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[AwsChannels, ChannelClients]]:
    # What the functions stack and the emulator give a function: its endpoint and region.
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack.outputs.region)
    clients = ChannelClients()
    ses = await clients.sesv2()
    await ses.create_email_identity(EmailIdentity=SENDER)
    channels = AwsChannels(
        clients,
        sender=SENDER,
        user_pool_id=stack.outputs.user_pool_id,
        logger=Logger(service="notifications-tests"),
    )
    yield channels, clients
    await clients.close()


async def emails_sent(clients: ChannelClients) -> int:
    # SES v1's quota counts what SES v2 sent, too.
    ses: Any = await clients._client("ses")
    quota = await ses.get_send_quota()
    return int(quota["SentLast24Hours"])


def delivery(channel: Any, user_id: str, address: str | None = None) -> Delivery:
    return Delivery(
        channel=channel, user_id=user_id, address=address, subject="Order shipped", text="Hi"
    )


async def test_an_email_goes_to_the_users_cognito_address(
    channels: tuple[AwsChannels, ChannelClients], alice: SignedInUser
) -> None:
    adapter, clients = channels
    before = await emails_sent(clients)
    await adapter.deliver(delivery("email", alice.user_id))
    assert await emails_sent(clients) == before + 1


async def test_an_email_to_a_user_cognito_does_not_know_is_skipped(
    channels: tuple[AwsChannels, ChannelClients],
) -> None:
    adapter, clients = channels
    before = await emails_sent(clients)
    await adapter.deliver(delivery("email", "no-such-user"))
    assert await emails_sent(clients) == before


@pytest.mark.moto_in_process("reads the SMS messages moto recorded")
async def test_an_sms_is_published_to_the_phone(
    stack: LocalSystem, channels: tuple[AwsChannels, ChannelClients]
) -> None:
    adapter, _ = channels
    await adapter.deliver(delivery("sms", "u-1", "+351912345678"))
    # The emulator runs in this process: read what its SNS recorded.
    from moto.sns.models import sns_backends

    sent = sns_backends[ACCOUNT_ID][stack.outputs.region].sms_messages
    assert ("+351912345678", "Hi") in sent.values()
