"""Events stack: the bus, its archive, the rules and the consumer queues, from the one declaration.

Every consumer queue is encrypted with the messaging key, refuses plain HTTP, and has a
dead-letter queue (same key) after the declared number of receives; the outbox relay's failure
queue is built the same way. The event source mappings that feed the consumer functions and the
relay live with the functions (``stacks.functions``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration
from libs.resources.events import (
    CONSUMER_QUEUES,
    EVENT_BUS,
    EVENTS,
    RULES,
    ConsumerQueue,
    DeadLetterQueue,
)
from libs.resources.functions import FUNCTIONS
from libs.resources.naming import resource_name
from stacks import discovery

ARCHIVE_RETENTION_DAYS = 30


class EventsStack(Stack):
    """``EventBus`` with a replayable archive, rules to queues, queues to dead-letter queues."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        messaging_key: kms.IKey,
        table: dynamodb.ITableV2,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = environment.name
        self.bus = events.EventBus(
            self,
            EVENT_BUS.logical_id,
            event_bus_name=resource_name(EVENT_BUS.name, environment.name),
        )
        self.bus.archive(
            "Archive",
            description="Every declared event, for replay after a consumer's fault is fixed",
            event_pattern=events.EventPattern(source=sorted({e.SOURCE for e in EVENTS})),
            retention=Duration.days(ARCHIVE_RETENTION_DAYS),
        )
        CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        # Every declared name carries the environment: tools find the queues by it (`just dlq`).
        CfnOutput(self, "NameSuffix", value=environment.name)
        discovery.publish(
            self,
            environment,
            "events",
            {"bus-name": self.bus.event_bus_name, "bus-arn": self.bus.event_bus_arn},
        )
        self.consumer_queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for declaration in CONSUMER_QUEUES:
            self._consumer_queue(declaration, messaging_key)
        # Where the outbox relay's event source mapping records a batch it gave up on.
        self.stream_failure_queues: dict[str, sqs.Queue] = {
            function.stream.failures.logical_id: self._dead_letter_queue(
                function.stream.failures, messaging_key
            )
            for function in FUNCTIONS.values()
            if function.stream is not None
        }
        for rule in RULES:
            events.Rule(
                self,
                rule.logical_id,
                rule_name=f"{rule.name}-{environment.name}",
                event_bus=self.bus,
                event_pattern=events.EventPattern(
                    source=rule.pattern["source"], detail_type=rule.pattern["detail-type"]
                ),
                targets=[targets.SqsQueue(self.consumer_queues[rule.target])],
            )

    def _dead_letter_queue(self, declaration: DeadLetterQueue, key: kms.IKey) -> sqs.Queue:
        return sqs.Queue(
            self,
            declaration.logical_id,
            queue_name=resource_name(declaration.name, self.environment_name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(declaration.retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _consumer_queue(self, declaration: ConsumerQueue, key: kms.IKey) -> None:
        dead_letter = self._dead_letter_queue(declaration.dead_letter, key)
        self.dead_letter_queues[declaration.logical_id] = dead_letter
        self.consumer_queues[declaration.logical_id] = sqs.Queue(
            self,
            declaration.logical_id,
            queue_name=resource_name(declaration.name, self.environment_name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(declaration.visibility_timeout_seconds),
            retention_period=Duration.days(declaration.retention_days),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter, max_receive_count=declaration.max_receive_count
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
