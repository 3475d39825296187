"""Notifications' queue consumer: each event from the bus becomes one notification to its user."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from libs.config import settings
from libs.domain_events import read_bus_event
from libs.queue_function import QueueFunction
from libs.resources.events import NOTIFICATIONS_QUEUE, events_for
from libs.resources.metrics import DUPLICATE_EVENTS_SKIPPED
from libs.sealed_fields import FieldSealer
from services.notifications import notifying
from services.notifications.channels import ChannelClients, channels_from_environment
from services.notifications.recipients import PhoneOpener

clients = ChannelClients()
consumer = QueueFunction("notifications-consumer", clients=clients)
channels = channels_from_environment(clients, consumer.logger)
# The events the bus's rules route to this queue: anything else is a fault, for the DLQ.
ROUTED_EVENTS = events_for(NOTIFICATIONS_QUEUE)
# Opens the phone the users service sealed (decrypt only), its data keys cached per container.
sealer = FieldSealer(settings().pii_key_arn)


@consumer.each_message
async def notify(record: SQSRecord) -> None:
    event = read_bus_event(record.body, ROUTED_EVENTS)
    # The request that caused the event, its user and order: on every line about this message.
    consumer.log_context(
        correlation_id=event.correlation_id,
        event_id=event.event_id,
        user_id=getattr(event, "user_id", None),
        order_id=getattr(event, "order_id", None),
    )
    db = await clients.dynamodb()
    phones = PhoneOpener(sealer, await clients.kms())
    outcome = await notifying.handle_event(db, settings().table_name, channels, event, phones)
    consumer.logger.info(
        "event handled",
        extra={"detail_type": event.DETAIL_TYPE, "outcome": outcome},
    )
    if outcome == "duplicate":
        consumer.metrics.add_metric(name=DUPLICATE_EVENTS_SKIPPED.name, unit="Count", value=1)


handler = consumer.handler
