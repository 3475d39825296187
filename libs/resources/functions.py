"""The Lambda functions: the entrypoint of each, what invokes it, and its sizing."""

from __future__ import annotations

from typing import Literal

import msgspec

from libs.resources.events import DeadLetterQueue
from libs.table_keys import OUTBOX_PREFIX

# What invokes a function: API Gateway (routes in api_routes.py), an SQS event source mapping
# (the queue in events.py names its consumer) or the table's stream (its ``stream`` below).
# "rotation": Secrets Manager invokes it to rotate a secret (prod only; no local trigger).
Trigger = Literal["http", "sqs", "stream", "rotation"]


class AwsAccess(msgspec.Struct, frozen=True):
    """The calls a function makes to one AWS service and the IAM actions they need."""

    service: str  # botocore's name: "dynamodb", "events", "cognito-idp", "sqs"
    # IAM actions, granted on the declared resource only (the table and its indexes, the bus,
    # the user pool). Cognito's user APIs (SignUp, InitiateAuth, ...) are unsigned: no action.
    actions: tuple[str, ...] = ()


class StreamSource(msgspec.Struct, frozen=True, kw_only=True):
    """The main table's stream feeding a function: which records, in what batches, retried how."""

    event_name: Literal["INSERT", "MODIFY", "REMOVE"]
    # Only records of items whose partition key starts with this (filtered before invoking).
    partition_prefix: str
    batch_size: int
    batching_window_seconds: int
    # Retries of a failing batch (halved on each error) before it is recorded and skipped.
    retry_attempts: int
    # Where Lambda records a batch that still fails: shard and sequence numbers, for a replay.
    failures: DeadLetterQueue


class FunctionDeclaration(msgspec.Struct, frozen=True):
    """A service's function: its entrypoint and sizing defaults (environments may override)."""

    service: str
    handler: str  # "package.module.attribute", the same string Lambda's runtime resolves
    memory_mb: int = 1024
    timeout_seconds: int = 10
    trigger: Trigger = "http"
    # Everything it calls: the functions stack grants exactly this, and its bundle keeps
    # botocore's data for exactly these services.
    access: tuple[AwsAccess, ...] = ()
    stream: StreamSource | None = None  # with trigger "stream" only

    def __post_init__(self) -> None:
        if (self.trigger == "stream") != (self.stream is not None):
            raise ValueError(f"{self.service}: a stream trigger and a stream source go together")

    @property
    def aws_services(self) -> tuple[str, ...]:
        """botocore names of the services the function calls."""
        return tuple(access.service for access in self.access)

    def actions_on(self, service: str) -> tuple[str, ...]:
        """The IAM actions the function needs on ``service`` (empty when it does not call it)."""
        return tuple(
            a for access in self.access if access.service == service for a in access.actions
        )

    @property
    def module(self) -> str:
        """The module holding the entrypoint."""
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        """The entrypoint's name inside its module."""
        return self.handler.rpartition(".")[2]


def _table(*actions: str) -> AwsAccess:
    return AwsAccess("dynamodb", tuple(f"dynamodb:{action}" for action in actions))


# Where CloudFront fronts the API (prod), HTTP functions read its origin secret once per
# container to refuse requests that bypassed it; elsewhere they never call Secrets Manager.
_ORIGIN_SECRET = AwsAccess("secretsmanager", ("secretsmanager:GetSecretValue",))
# The feature flags, from AppConfig (where deployed; the declared defaults otherwise).
# The personal-fields key (keys.PII_KEY): the users function seals and opens, the consumer opens.
_SEAL_PERSONAL_FIELDS = AwsAccess("kms", ("kms:GenerateDataKey", "kms:Decrypt"))
_OPEN_PERSONAL_FIELDS = AwsAccess("kms", ("kms:Decrypt",))
_FEATURE_FLAGS = AwsAccess(
    "appconfigdata", ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")
)


FUNCTIONS: dict[str, FunctionDeclaration] = {
    declaration.service: declaration
    for declaration in (
        FunctionDeclaration(
            service="products",
            handler="services.products.handler.handler",
            access=(_table("GetItem", "PutItem", "Query"), _ORIGIN_SECRET),
        ),
        FunctionDeclaration(
            service="orders",
            handler="services.orders.handler.handler",
            # TransactWriteItems is authorized per contained Put; events leave through the outbox.
            access=(
                _table("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
                _FEATURE_FLAGS,
                _ORIGIN_SECRET,
            ),
        ),
        FunctionDeclaration(
            service="auth",
            handler="services.auth.handler.handler",
            # UserRegistered leaves through the outbox: one PutItem of an OUTBOX# item.
            access=(
                _table("PutItem"),
                AwsAccess("cognito-idp", ("cognito-idp:AdminGetUser",)),
                _ORIGIN_SECRET,
            ),
        ),
        FunctionDeclaration(
            service="users",
            handler="services.users.handler.handler",
            access=(
                # The profile's deletion commits UserDeleted to the outbox in one transaction.
                _table("GetItem", "UpdateItem", "DeleteItem", "PutItem"),
                AwsAccess(
                    "cognito-idp", ("cognito-idp:AdminGetUser", "cognito-idp:AdminDeleteUser")
                ),
                _SEAL_PERSONAL_FIELDS,
                _ORIGIN_SECRET,
            ),
        ),
        FunctionDeclaration(
            service="notifications",
            handler="services.notifications.handler.handler",
            access=(_table("Query"), _ORIGIN_SECRET),
        ),
        FunctionDeclaration(
            service="notifications-consumer",
            handler="services.notifications.consumer.handler",
            trigger="sqs",  # fed by NOTIFICATIONS_QUEUE in events.py
            access=(
                # TransactWriteItems is authorized per contained Put; erasure uses BatchWriteItem.
                _table("GetItem", "PutItem", "UpdateItem", "Query", "BatchWriteItem"),
                AwsAccess("cognito-idp", ("cognito-idp:AdminGetUser",)),
                AwsAccess("sesv2", ("ses:SendEmail",)),
                AwsAccess("sns", ("sns:Publish",)),
                _OPEN_PERSONAL_FIELDS,  # the phone, for SMS
            ),
        ),
        FunctionDeclaration(
            service="event-relay",
            handler="services.event_relay.handler.handler",
            memory_mb=512,
            timeout_seconds=30,
            trigger="stream",
            # It publishes what every service recorded in the outbox: every declared source.
            access=(AwsAccess("events", ("events:PutEvents",)),),
            stream=StreamSource(
                event_name="INSERT",
                partition_prefix=OUTBOX_PREFIX,
                batch_size=100,
                batching_window_seconds=0,  # an event should not wait for others
                retry_attempts=10,
                failures=DeadLetterQueue(
                    logical_id="OutboxRelayFailures",
                    name="serverless-blueprint-outbox-relay-failures",
                ),
            ),
        ),
    )
}

# Rotates the origin-verify secret CloudFront and the API share (prod, where CloudFront fronts
# the API); not one of FUNCTIONS: the API stack adds it beside the distribution it updates.
ORIGIN_SECRET_ROTATION = FunctionDeclaration(
    service="origin-secret-rotation",
    handler="services.origin_secret_rotation.handler.handler",
    memory_mb=256,
    timeout_seconds=30,
    trigger="rotation",
    access=(
        AwsAccess(
            "secretsmanager",
            (
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ),
        ),
        AwsAccess(
            "cloudfront", ("cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution")
        ),
    ),
)
