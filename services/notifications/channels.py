"""Where notifications go out: email through SES and SMS through SNS, or a local record.

``NOTIFICATION_CHANNELS`` picks the adapter: ``local`` (the default, what the emulator runs)
records and logs each delivery; ``aws`` sends for real.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from aws_lambda_powertools import Logger

from libs.aws_clients import AwsClients
from libs.aws_usage import count_message
from libs.config import NOTIFICATION_CHANNELS, NOTIFICATION_SENDER, settings
from services.notifications.models import Channel

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One message to send to one user on one channel."""

    channel: Channel
    user_id: str
    address: str | None  # an email address or an E.164 phone; email is looked up when absent
    subject: str
    text: str


class Channels(Protocol):
    """Sends deliveries; raising means the event is retried."""

    async def deliver(self, delivery: Delivery) -> None:
        """Send one delivery."""


class LocalChannels:
    """Records every delivery and logs it, instead of sending anything."""

    def __init__(self, logger: Logger) -> None:
        self.logger = logger
        self.sent: list[Delivery] = []

    async def deliver(self, delivery: Delivery) -> None:
        """Record and log ``delivery``."""
        self.sent.append(delivery)
        count_message(delivery.channel)  # what the AWS channels would have sent, for the cost
        self.logger.info("notification delivered locally", extra=msgspec.to_builtins(delivery))


class ChannelClients(AwsClients):
    """The container's clients, plus the SES and SNS ones that only the AWS channels use."""

    async def sesv2(self) -> Any:
        """The SES (v2) client."""
        return await self._client("sesv2")

    async def sns(self) -> Any:
        """The SNS client."""
        return await self._client("sns")


class AwsChannels:
    """Email through SES from ``sender``, SMS through SNS; email addresses come from Cognito."""

    def __init__(
        self, clients: ChannelClients, *, sender: str, user_pool_id: str, logger: Logger
    ) -> None:
        self.clients = clients
        self.sender = sender
        self.user_pool_id = user_pool_id
        self.logger = logger

    async def deliver(self, delivery: Delivery) -> None:
        """Send ``delivery`` on its channel."""
        if delivery.channel == "sms":
            sns = await self.clients.sns()
            await sns.publish(PhoneNumber=delivery.address, Message=delivery.text)
            return
        address = delivery.address or await self._email_of(delivery.user_id)
        if address is None:
            self.logger.warning("no email address; email skipped", extra={"user": delivery.user_id})
            return
        ses = await self.clients.sesv2()
        await ses.send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": [address]},
            Content={
                "Simple": {
                    "Subject": {"Data": delivery.subject},
                    "Body": {"Text": {"Data": delivery.text}},
                }
            },
        )

    async def _email_of(self, user_id: str) -> str | None:
        cognito: CognitoIdentityProviderClient = await self.clients.cognito()
        try:
            user = await cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=user_id)
        except cognito.exceptions.UserNotFoundException:
            return None
        attributes = {a["Name"]: a.get("Value") for a in user.get("UserAttributes", [])}
        return attributes.get("email")


def channels_from_environment(clients: ChannelClients, logger: Logger) -> Channels:
    """The adapter ``NOTIFICATION_CHANNELS`` names (``local`` unless set)."""
    kind = os.environ.get(NOTIFICATION_CHANNELS, "local")
    if kind == "local":
        return LocalChannels(logger)
    if kind == "aws":
        return AwsChannels(
            clients,
            sender=os.environ[NOTIFICATION_SENDER],
            user_pool_id=settings().user_pool_id,
            logger=logger,
        )
    raise ValueError(f"{NOTIFICATION_CHANNELS} must be local or aws, not {kind!r}")
