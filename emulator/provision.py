"""Create the declared table, user pool, app client, event bus, rules and queues at an endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec
from aiobotocore.session import get_session

from libs import config
from libs.resources.environments import PROJECT
from libs.resources.events import (
    CONSUMER_QUEUES,
    EVENT_BUS,
    RULES,
    ConsumerQueue,
    DeadLetterQueue,
    EventRule,
)
from libs.resources.functions import FUNCTIONS
from libs.resources.keys import PII_KEY, KeyDeclaration
from libs.resources.naming import named_failure_queue, named_queue, resource_name
from libs.resources.table import MAIN_TABLE, TableDeclaration
from libs.resources.user_pool import USER_POOL, UserPoolDeclaration
from libs.stack_outputs import StackOutputs

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_kms import KMSClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.literals import QueueAttributeNameType

# Locally the table is named for the project (in AWS, CloudFormation names it).
TABLE_NAME: Final = f"{PROJECT}-{MAIN_TABLE.logical_id}"
# Locally a message that failed is received again after this many seconds, not after the
# declared visibility timeout (a minute in AWS): same retries and dead-lettering, in seconds.
LOCAL_VISIBILITY_TIMEOUT_SECONDS: Final = 1
_DAY_SECONDS: Final = 24 * 3600
# Where each stream consumer's event source mapping records a batch it gave up on (in AWS);
# provisioned locally too, so `just dlq` finds the same queues everywhere.
STREAM_FAILURE_QUEUES: Final = tuple(
    function.stream.failures for function in FUNCTIONS.values() if function.stream is not None
)


class QueueAddress(msgspec.Struct, frozen=True):
    """Where a consumer queue and its dead-letter queue are."""

    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str


async def provision(endpoint_url: str, region: str, name_suffix: str = "") -> StackOutputs:
    """Create the declared resources at ``endpoint_url``, reusing any that already exist.

    A ``name_suffix`` gives every resource a name of its own, so this stack leaves alone any
    other stack provisioned at the same endpoint."""
    pool = msgspec.structs.replace(
        USER_POOL,
        pool_name=resource_name(USER_POOL.pool_name, name_suffix),
        client_name=resource_name(USER_POOL.client_name, name_suffix),
    )
    queues = tuple(named_queue(queue, name_suffix) for queue in CONSUMER_QUEUES)
    failure_queues = tuple(named_failure_queue(q, name_suffix) for q in STREAM_FAILURE_QUEUES)
    rules = tuple(
        msgspec.structs.replace(rule, name=resource_name(rule.name, name_suffix)) for rule in RULES
    )
    session = get_session()
    options: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": region}
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("cognito-idp", **options) as cognito,
        session.create_client("events", **options) as events,
        session.create_client("sqs", **options) as sqs,
        session.create_client("kms", **options) as kms,
    ):
        (
            table_name,
            (pool_id, client_id),
            bus_name,
            addresses,
            _,
            pii_key_arn,
        ) = await asyncio.gather(
            _table(dynamodb, MAIN_TABLE, resource_name(TABLE_NAME, name_suffix)),
            _user_pool(cognito, pool),
            _event_bus(events, resource_name(EVENT_BUS.name, name_suffix)),
            _consumer_queues(sqs, queues),
            _failure_queues(sqs, failure_queues),
            _key(kms, PII_KEY, resource_name(PII_KEY.alias, name_suffix)),
        )
        await _route_events(events, sqs, bus_name, addresses, rules)
    return StackOutputs(
        api_url="",  # known once the gateway listens
        user_pool_id=pool_id,
        user_pool_client_id=client_id,
        table_name=table_name,
        event_bus_name=bus_name,
        region=region,
        aws_endpoint_url=endpoint_url,
        name_suffix=name_suffix,
        pii_key_arn=pii_key_arn,
    )


async def queue_addresses(
    sqs: SQSClient, queues: tuple[ConsumerQueue, ...] = CONSUMER_QUEUES
) -> dict[str, QueueAddress]:
    """Where each of ``queues`` is, by logical id (they must exist already)."""
    found = {}
    for queue in queues:
        url, arn = await _queue_location(sqs, queue.name)
        dead_letter_url, dead_letter_arn = await _queue_location(sqs, queue.dead_letter.name)
        found[queue.logical_id] = QueueAddress(url, arn, dead_letter_url, dead_letter_arn)
    return found


def function_environment(outputs: StackOutputs) -> dict[str, str]:
    """The environment every local function runs with, as the functions stack would set it."""
    # botocore verifies an HTTPS endpoint with this bundle, as it verifies AWS with its own.
    ca_bundle = {"AWS_CA_BUNDLE": outputs.aws_ca_bundle} if outputs.aws_ca_bundle else {}
    return {
        **ca_bundle,
        config.TABLE_NAME: outputs.table_name,
        config.EVENT_BUS_NAME: outputs.event_bus_name,
        config.USER_POOL_ID: outputs.user_pool_id,
        config.USER_POOL_CLIENT_ID: outputs.user_pool_client_id,
        config.PII_KEY_ARN: outputs.pii_key_arn,
        # botocore sends every service to this endpoint, so handlers need no emulator code.
        "AWS_ENDPOINT_URL": outputs.aws_endpoint_url,
        "AWS_REGION": outputs.region,
        "AWS_DEFAULT_REGION": outputs.region,
        # Lambda hands its role's credentials over as variables; any value satisfies an emulator.
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        # No X-Ray daemon listens locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


async def _table(client: DynamoDBClient, table: TableDeclaration, name: str) -> str:
    def key_schema(partition: str, sort: str) -> list[Any]:
        return [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ]

    # An earlier run against the same endpoint may have created it already.
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        await client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attribute, "AttributeType": "S"}
                for attribute in table.attribute_names
            ],
            KeySchema=key_schema(table.keys.partition, table.keys.sort),
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index.name,
                    "KeySchema": key_schema(index.keys.partition, index.keys.sort),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in table.indexes
            ],
            StreamSpecification={
                "StreamEnabled": True,
                "StreamViewType": table.stream_view,
            },
        )
    await client.get_waiter("table_exists").wait(TableName=name)
    ttl = await client.describe_time_to_live(TableName=name)
    # Enabling TTL twice is an error in DynamoDB (and LocalStack), so only enable it once.
    if ttl["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        await client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
    return name


async def _key(kms: KMSClient, key: KeyDeclaration, alias: str) -> str:
    """The ARN of the symmetric key under ``alias/<alias>``, created (rotating yearly) if new."""
    try:
        return (await kms.describe_key(KeyId=f"alias/{alias}"))["KeyMetadata"]["Arn"]
    except kms.exceptions.NotFoundException:
        pass
    created = (await kms.create_key(Description=key.description))["KeyMetadata"]
    await kms.enable_key_rotation(KeyId=created["KeyId"])
    await kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=created["KeyId"])
    return created["Arn"]


async def _user_pool(
    client: CognitoIdentityProviderClient, pool: UserPoolDeclaration
) -> tuple[str, str]:
    pool_id = await _existing_pool_id(client, pool.pool_name)
    if pool_id is None:
        policy = pool.password_policy
        created = await client.create_user_pool(
            PoolName=pool.pool_name,
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": policy.minimum_length,
                    "RequireUppercase": policy.require_uppercase,
                    "RequireLowercase": policy.require_lowercase,
                    "RequireNumbers": policy.require_digits,
                    "RequireSymbols": policy.require_symbols,
                }
            },
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
        )
        pool_id = created["UserPool"]["Id"]
    for group in pool.groups:
        with contextlib.suppress(client.exceptions.GroupExistsException):
            await client.create_group(UserPoolId=pool_id, GroupName=group)
    return pool_id, await _app_client_id(client, pool_id, pool)


async def _existing_pool_id(client: CognitoIdentityProviderClient, name: str) -> str | None:
    async for page in client.get_paginator("list_user_pools").paginate(
        PaginationConfig={"PageSize": 60}
    ):
        for pool in page["UserPools"]:
            if pool.get("Name") == name:
                return pool["Id"]
    return None


async def _app_client_id(
    client: CognitoIdentityProviderClient, pool_id: str, pool: UserPoolDeclaration
) -> str:
    paginator = client.get_paginator("list_user_pool_clients")
    async for page in paginator.paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 60}):
        for existing in page["UserPoolClients"]:
            if existing.get("ClientName") == pool.client_name:
                return existing["ClientId"]
    created = await client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=pool.client_name,
        GenerateSecret=False,  # a public client: browsers and scripts cannot keep a secret
        # Declared without the ALLOW_ prefix, which the stubs' literal names include.
        ExplicitAuthFlows=[f"ALLOW_{flow}" for flow in pool.auth_flows],  # type: ignore[misc]
        AccessTokenValidity=pool.access_token_minutes,
        IdTokenValidity=pool.id_token_minutes,
        RefreshTokenValidity=pool.refresh_token_days,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
        PreventUserExistenceErrors="ENABLED",
    )
    return created["UserPoolClient"]["ClientId"]


async def _event_bus(client: EventBridgeClient, name: str) -> str:
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        await client.create_event_bus(Name=name)
    return name


async def _consumer_queues(
    sqs: SQSClient, queues: tuple[ConsumerQueue, ...]
) -> dict[str, QueueAddress]:
    created = await asyncio.gather(*(create_consumer_queue(sqs, queue) for queue in queues))
    return {queue.logical_id: a for queue, a in zip(queues, created, strict=True)}


async def _route_events(
    events: EventBridgeClient,
    sqs: SQSClient,
    bus: str,
    queues: dict[str, QueueAddress],
    rules: tuple[EventRule, ...],
) -> None:
    """Each rule with its queue as target, and each queue's policy letting its rules send."""
    rule_arns: dict[str, list[str]] = {logical_id: [] for logical_id in queues}
    for rule in rules:
        rule_arns[rule.target].append(await _rule(events, rule, bus, queues[rule.target]))
    for logical_id, arns in rule_arns.items():
        if arns:
            await _allow_rules(sqs, queues[logical_id], arns)


async def create_consumer_queue(sqs: SQSClient, queue: ConsumerQueue) -> QueueAddress:
    """Create (or update) a consumer queue and its dead-letter queue, as declared."""
    dead_letter = queue.dead_letter
    dead_letter_url, dead_letter_arn = await _queue(
        sqs,
        dead_letter.name,
        {"MessageRetentionPeriod": str(dead_letter.retention_days * _DAY_SECONDS)},
    )
    redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": queue.max_receive_count}
    url, arn = await _queue(
        sqs,
        queue.name,
        {
            "VisibilityTimeout": str(local_visibility_timeout(queue)),
            "MessageRetentionPeriod": str(queue.retention_days * _DAY_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return QueueAddress(url, arn, dead_letter_url, dead_letter_arn)


async def _failure_queues(sqs: SQSClient, queues: tuple[DeadLetterQueue, ...]) -> None:
    for queue in queues:
        retention = str(queue.retention_days * _DAY_SECONDS)
        await _queue(sqs, queue.name, {"MessageRetentionPeriod": retention})


def local_visibility_timeout(queue: ConsumerQueue) -> int:
    """The emulator's visibility timeout for ``queue``: short, but longer than its batching
    window, or a message would come back while its own batch is still being gathered."""
    local = LOCAL_VISIBILITY_TIMEOUT_SECONDS + queue.batching_window_seconds
    return min(queue.visibility_timeout_seconds, local)


async def _queue(
    sqs: SQSClient, name: str, attributes: Mapping[QueueAttributeNameType, str]
) -> tuple[str, str]:
    try:
        url = (await sqs.create_queue(QueueName=name, Attributes=attributes))["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        # It exists with other attributes, from an earlier declaration: bring it up to date.
        url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
        await sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url, await _queue_arn(sqs, url)


async def _queue_location(sqs: SQSClient, name: str) -> tuple[str, str]:
    url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
    return url, await _queue_arn(sqs, url)


async def _queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


async def _rule(events: EventBridgeClient, rule: EventRule, bus: str, target: QueueAddress) -> str:
    rule_arn = (
        await events.put_rule(
            Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern)
        )
    )["RuleArn"]
    target_id = target.arn.rsplit(":", 1)[1]
    await events.put_targets(
        Rule=rule.name, EventBusName=bus, Targets=[{"Id": target_id, "Arn": target.arn}]
    )
    return rule_arn


async def _allow_rules(sqs: SQSClient, queue: QueueAddress, rule_arns: list[str]) -> None:
    """The queue policy AWS requires before EventBridge may deliver (moto does not check it)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
            }
        ],
    }
    await sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"Policy": json.dumps(policy)})
