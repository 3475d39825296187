"""The emulator provisions what the templates declare: read back through the real SDK.

Both are built from libs/resources; this proves neither drifted from it on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from emulator.local_system import LocalSystem
from emulator.provision import STREAM_FAILURE_QUEUES
from libs.resources.events import CONSUMER_QUEUES, RULES
from tests.infra.conftest import Synthesized

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_events import EventBridgeClient
    from types_aiobotocore_sqs import SQSClient

pytestmark = pytest.mark.integration


def by_declared_id(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    (resource,) = [r for i, r in resources.items() if i.startswith(logical_id)]
    properties: dict[str, Any] = resource["Properties"]
    return properties


async def test_table_keys_indexes_stream_and_ttl_match(
    dev: Synthesized, stack: LocalSystem, dynamodb: DynamoDBClient
) -> None:
    declared = dev.only("AWS::DynamoDB::GlobalTable")["Properties"]
    table = (await dynamodb.describe_table(TableName=stack.outputs.table_name))["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        declared["AttributeDefinitions"], key=str
    )
    emulated = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert emulated == {i["IndexName"]: i["KeySchema"] for i in declared["GlobalSecondaryIndexes"]}
    assert (
        table["StreamSpecification"]["StreamViewType"]
        == (declared["StreamSpecification"]["StreamViewType"])
    )
    ttl = await dynamodb.describe_time_to_live(TableName=stack.outputs.table_name)
    assert (
        ttl["TimeToLiveDescription"]["AttributeName"]
        == (declared["TimeToLiveSpecification"]["AttributeName"])
    )


async def test_user_pool_policy_and_app_client_match(
    dev: Synthesized, stack: LocalSystem, cognito: CognitoIdentityProviderClient
) -> None:
    declared_pool = dev.only("AWS::Cognito::UserPool")["Properties"]
    declared_client = dev.only("AWS::Cognito::UserPoolClient")["Properties"]
    pool = (await cognito.describe_user_pool(UserPoolId=stack.outputs.user_pool_id))["UserPool"]
    policy: Mapping[str, object] = pool["Policies"]["PasswordPolicy"]
    for rule, value in declared_pool["Policies"]["PasswordPolicy"].items():
        assert policy[rule] == value, rule
    assert pool["UsernameAttributes"] == declared_pool["UsernameAttributes"]
    client = (
        await cognito.describe_user_pool_client(
            UserPoolId=stack.outputs.user_pool_id, ClientId=stack.outputs.user_pool_client_id
        )
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == set(declared_client["ExplicitAuthFlows"])
    assert client["AccessTokenValidity"] == declared_client["AccessTokenValidity"]
    assert client["PreventUserExistenceErrors"] == declared_client["PreventUserExistenceErrors"]


async def test_consumer_queues_and_dead_letter_queues_match(
    dev: Synthesized, sqs: SQSClient
) -> None:
    queues = dev.resources("AWS::SQS::Queue")
    for declaration in CONSUMER_QUEUES:
        declared = by_declared_id(queues, declaration.logical_id)
        declared_dead_letter = by_declared_id(queues, declaration.dead_letter.logical_id)
        url = (await sqs.get_queue_url(QueueName=declaration.name))["QueueUrl"]
        attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))[
            "Attributes"
        ]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == declared["RedrivePolicy"]["maxReceiveCount"]
        assert redrive["deadLetterTargetArn"].endswith(f":{declaration.dead_letter.name}")
        assert int(attributes["MessageRetentionPeriod"]) == declared["MessageRetentionPeriod"]
        # (The emulator shortens the visibility timeout on purpose, so retries run in tests.)
        dead_letter_url = (await sqs.get_queue_url(QueueName=declaration.dead_letter.name))[
            "QueueUrl"
        ]
        dead_letter = await sqs.get_queue_attributes(
            QueueUrl=dead_letter_url, AttributeNames=["MessageRetentionPeriod"]
        )
        assert (
            int(dead_letter["Attributes"]["MessageRetentionPeriod"])
            == (declared_dead_letter["MessageRetentionPeriod"])
        )


async def test_stream_failure_queues_match(dev: Synthesized, sqs: SQSClient) -> None:
    # Given the queues a stream consumer's event source mapping records failed batches in
    queues = dev.resources("AWS::SQS::Queue")
    assert STREAM_FAILURE_QUEUES  # the outbox relay declares one
    for declaration in STREAM_FAILURE_QUEUES:
        declared = by_declared_id(queues, declaration.logical_id)
        # Then the emulator has each, keeping messages as long as the template's
        url = (await sqs.get_queue_url(QueueName=declaration.name))["QueueUrl"]
        attributes = await sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["MessageRetentionPeriod"]
        )
        retention = int(attributes["Attributes"]["MessageRetentionPeriod"])
        assert retention == declared["MessageRetentionPeriod"]


async def test_rules_patterns_and_targets_match(
    dev: Synthesized, stack: LocalSystem, events: EventBridgeClient
) -> None:
    rules = dev.resources("AWS::Events::Rule")
    emulated = {
        r["Name"]: r
        for r in (await events.list_rules(EventBusName=stack.outputs.event_bus_name))["Rules"]
    }
    for declaration in RULES:
        declared = by_declared_id(rules, declaration.logical_id)
        rule = emulated[declaration.name]
        assert json.loads(rule["EventPattern"]) == declared["EventPattern"]
        targets = await events.list_targets_by_rule(
            Rule=declaration.name, EventBusName=stack.outputs.event_bus_name
        )
        target_queue = next(q for q in CONSUMER_QUEUES if q.logical_id == declaration.target)
        assert [t["Arn"].rsplit(":", 1)[1] for t in targets["Targets"]] == [target_queue.name]
