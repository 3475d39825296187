"""Database, Cognito and events stacks: the declarations, and data safety per environment."""

from __future__ import annotations

import json

from libs.resources.events import CONSUMER_QUEUES, EVENTS, RULES
from libs.resources.functions import FUNCTIONS
from libs.resources.table import MAIN_TABLE
from libs.resources.user_pool import USER_POOL
from tests.infra.conftest import Synthesized


def test_table_keys_and_indexes_are_the_declared_ones(synthesized: Synthesized) -> None:
    table = synthesized.only("AWS::DynamoDB::GlobalTable", "Database")["Properties"]
    assert table["KeySchema"] == [
        {"AttributeName": MAIN_TABLE.keys.partition, "KeyType": "HASH"},
        {"AttributeName": MAIN_TABLE.keys.sort, "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == set(
        MAIN_TABLE.attribute_names
    )
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [
        i.name for i in MAIN_TABLE.indexes
    ]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": MAIN_TABLE.ttl_attribute,
        "Enabled": True,
    }
    assert table["StreamSpecification"] == {"StreamViewType": MAIN_TABLE.stream_view}


def test_table_is_on_demand_with_pitr_and_the_customer_managed_key(
    synthesized: Synthesized,
) -> None:
    table = synthesized.only("AWS::DynamoDB::GlobalTable", "Database")["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    (replica,) = table["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    key = replica["SSESpecification"]["KMSMasterKeyId"]
    assert "DataKey" in json.dumps(key)


def test_prod_keeps_its_data_and_dev_does_not(dev: Synthesized, prod: Synthesized) -> None:
    dev_table = dev.only("AWS::DynamoDB::GlobalTable", "Database")
    prod_table = prod.only("AWS::DynamoDB::GlobalTable", "Database")
    assert dev_table["DeletionPolicy"] == "Delete"
    assert prod_table["DeletionPolicy"] == "Retain"
    (dev_replica,) = dev_table["Properties"]["Replicas"]
    (prod_replica,) = prod_table["Properties"]["Replicas"]
    assert dev_replica.get("DeletionProtectionEnabled", False) is False
    assert prod_replica["DeletionProtectionEnabled"] is True
    assert dev_replica["ContributorInsightsSpecification"]["Enabled"] is False
    assert prod_replica["ContributorInsightsSpecification"]["Enabled"] is True


def test_user_pool_has_the_declared_password_policy_and_groups(synthesized: Synthesized) -> None:
    pool = synthesized.only("AWS::Cognito::UserPool", "Cognito")["Properties"]
    policy = USER_POOL.password_policy
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": policy.minimum_length,
        "RequireUppercase": policy.require_uppercase,
        "RequireLowercase": policy.require_lowercase,
        "RequireNumbers": policy.require_digits,
        "RequireSymbols": policy.require_symbols,
    }
    assert pool["UsernameAttributes"] == ["email"]
    groups = synthesized.resources("AWS::Cognito::UserPoolGroup", "Cognito").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == sorted(USER_POOL.groups)


def test_app_client_is_public_with_short_access_tokens(synthesized: Synthesized) -> None:
    client = synthesized.only("AWS::Cognito::UserPoolClient", "Cognito")["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AccessTokenValidity"] == USER_POOL.access_token_minutes
    assert client["IdTokenValidity"] == USER_POOL.id_token_minutes
    assert client["RefreshTokenValidity"] == USER_POOL.refresh_token_days * 24 * 60
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert set(client["ExplicitAuthFlows"]) == {f"ALLOW_{f}" for f in USER_POOL.auth_flows}


def test_user_pool_is_behind_the_regional_web_acl(synthesized: Synthesized) -> None:
    association = synthesized.only("AWS::WAFv2::WebACLAssociation", "Cognito")["Properties"]
    assert "UserPool" in json.dumps(association["ResourceArn"])
    assert "UserPoolAcl" in json.dumps(association["WebACLArn"])


def test_threat_protection_enforced_in_prod_only(dev: Synthesized, prod: Synthesized) -> None:
    add_ons = prod.only("AWS::Cognito::UserPool")["Properties"]["UserPoolAddOns"]
    assert add_ons["AdvancedSecurityMode"] == "ENFORCED"
    assert "UserPoolAddOns" not in dev.only("AWS::Cognito::UserPool")["Properties"]


def test_every_queue_is_encrypted_with_the_messaging_key_and_refuses_plain_http(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.resources("AWS::SQS::Queue")
    stream_failures = [f for f in FUNCTIONS.values() if f.stream is not None]
    assert len(queues) == 2 * len(CONSUMER_QUEUES) + len(stream_failures)
    for queue in queues.values():
        assert "MessagingKey" in json.dumps(queue["Properties"]["KmsMasterKeyId"])
    policies = synthesized.resources("AWS::SQS::QueuePolicy").values()
    denied = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denied) == len(queues)


def test_every_consumer_queue_has_its_declared_dead_letter_queue(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.resources("AWS::SQS::Queue", "Events")
    for declaration in CONSUMER_QUEUES:
        (queue,) = [q for i, q in queues.items() if i.startswith(declaration.logical_id)]
        redrive = queue["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == declaration.max_receive_count
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert target.startswith(declaration.dead_letter.logical_id)
        assert queue["Properties"]["VisibilityTimeout"] == declaration.visibility_timeout_seconds
        dead_letter = queues[target]["Properties"]
        assert (
            dead_letter["MessageRetentionPeriod"] == declaration.dead_letter.retention_days * 86400
        )


def test_rules_route_exactly_the_declared_events_to_their_queue(synthesized: Synthesized) -> None:
    rules = synthesized.resources("AWS::Events::Rule", "Events")
    assert len(rules) == len(RULES)
    for declaration in RULES:
        (rule,) = [r for i, r in rules.items() if i.startswith(declaration.logical_id)]
        assert rule["Properties"]["EventPattern"] == declaration.pattern
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"]["Fn::GetAtt"][0].startswith(declaration.target)


def test_bus_archive_keeps_every_declared_source(synthesized: Synthesized) -> None:
    archive = synthesized.only("AWS::Events::Archive", "Events")["Properties"]
    assert archive["EventPattern"] == {"source": sorted({e.SOURCE for e in EVENTS})}
