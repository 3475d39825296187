"""Least privilege, encryption, tags and cdk-nag, across every stack of each environment."""

from __future__ import annotations

import json
from typing import Any

from libs.origin_check import ROTATE_EVERY
from libs.resources.environments import ENVIRONMENTS
from libs.resources.events import EVENTS
from libs.resources.functions import FUNCTIONS, ORIGIN_SECRET_ROTATION
from libs.resources.keys import PII_KEY, PII_KMS_CONTEXT
from stacks.functions import publishable_sources
from tests.infra.conftest import Synthesized

# Actions allowed on Resource "*": X-Ray's, which have no resource-level permissions, and SMS
# through SNS (a phone number is no resource) for the one function declaring it.
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SMS = {"sns:Publish"}
SMS_SENDERS = {
    "".join(part.title() for part in key.split("-")) + "Role"
    for key, declaration in FUNCTIONS.items()
    if "sns" in declaration.aws_services
}


def statements(synthesized: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found.append((logical_id, statement))
    for logical_id, role in synthesized.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                found.append((logical_id, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_iam_statement_grants_star_resources_outside_xray(synthesized: Synthesized) -> None:
    offenders = []
    for logical_id, statement in statements(synthesized):
        if "*" not in as_list(statement["Resource"]):
            continue
        actions = set(as_list(statement["Action"]))
        sms_sender = any(logical_id.startswith(role) for role in SMS_SENDERS)
        if not (actions <= XRAY or (sms_sender and actions <= SMS)):
            offenders.append((logical_id, actions))
    assert offenders == []


def function_policy(synthesized: Synthesized, service: str) -> list[dict[str, Any]]:
    prefix = "".join(part.title() for part in service.split("-")) + "Role"
    (policy,) = [
        p
        for i, p in synthesized.resources("AWS::IAM::Policy", "Functions").items()
        if i.startswith(prefix)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_each_function_gets_exactly_its_declared_table_actions_on_table_and_index_arns(
    synthesized: Synthesized,
) -> None:
    for service, declaration in FUNCTIONS.items():
        table_statements = [
            s
            for s in function_policy(synthesized, service)
            if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
            and "StreamArn" not in json.dumps(s["Resource"])
        ]
        declared = declaration.actions_on("dynamodb")
        if not declared:
            assert table_statements == []
            continue
        (statement,) = table_statements
        assert sorted(as_list(statement["Action"])) == sorted(declared)
        resources = json.dumps(statement["Resource"])
        assert "MainTable" in resources
        assert "/index/GSI1" in resources
        assert "/index/*" not in resources


def test_put_events_is_limited_to_the_functions_own_source(synthesized: Synthesized) -> None:
    publishers = 0
    for service, declaration in FUNCTIONS.items():
        publishing = [
            s
            for s in function_policy(synthesized, service)
            if "events:PutEvents" in as_list(s["Action"])
        ]
        if not declaration.actions_on("events"):
            assert publishing == []
            continue
        (statement,) = publishing
        assert statement["Condition"] == {
            "StringEquals": {"events:source": publishable_sources(declaration)}
        }
        assert "EventBus" in json.dumps(statement["Resource"])
        publishers += 1
    assert publishers >= 1


def test_only_the_outbox_relay_may_put_every_services_events(synthesized: Synthesized) -> None:
    # Given the relay, which publishes what each service wrote to the outbox
    relay = FUNCTIONS["event-relay"]
    (statement,) = [
        s
        for s in function_policy(synthesized, "event-relay")
        if "events:PutEvents" in as_list(s["Action"])
    ]
    # Then it may put exactly the declared sources, and no other function declares PutEvents
    declared = sorted({event.SOURCE for event in EVENTS})
    assert statement["Condition"] == {"StringEquals": {"events:source": declared}}
    assert publishable_sources(relay) == declared
    assert [k for k, d in FUNCTIONS.items() if d.actions_on("events")] == ["event-relay"]


def test_only_the_stream_consumer_reads_the_stream_and_only_the_stream(
    synthesized: Synthesized,
) -> None:
    readers = set()
    for service in FUNCTIONS:
        for statement in function_policy(synthesized, service):
            if "StreamArn" in json.dumps(statement["Resource"]):
                readers.add(service)
                assert set(as_list(statement["Action"])) <= {
                    "dynamodb:ListStreams",
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                }
    assert readers == {key for key, f in FUNCTIONS.items() if f.trigger == "stream"}


def test_table_key_use_is_limited_to_dynamodb(synthesized: Synthesized) -> None:
    for service, declaration in FUNCTIONS.items():
        for statement in function_policy(synthesized, service):
            if "DataKey" not in json.dumps(statement["Resource"]):
                continue
            if "Condition" not in statement and declaration.trigger == "stream":
                # Lambda reads the stream with the relay's role; CDK's stream grant adds Decrypt
                # on the table's key unconditioned. Reading only: nothing is encrypted with it.
                assert sorted(as_list(statement["Action"])) == ["kms:Decrypt", "kms:DescribeKey"]
                continue
            condition = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert condition == "dynamodb.us-east-1.amazonaws.com"


def test_only_the_declared_functions_use_the_personal_fields_key_and_only_for_them(
    synthesized: Synthesized,
) -> None:
    users = {}
    for service in FUNCTIONS:
        for statement in function_policy(synthesized, service):
            if PII_KEY.logical_id not in json.dumps(statement["Resource"]):
                continue
            users[service] = sorted(as_list(statement["Action"]))
            # Then only data keys whose KMS context names the personal fields
            assert statement["Condition"] == {
                "StringEquals": {
                    f"kms:EncryptionContext:{k}": v for k, v in PII_KMS_CONTEXT.items()
                }
            }
    # The users function seals and opens; the notifications consumer only opens (the phone)
    assert users == {
        "users": ["kms:Decrypt", "kms:GenerateDataKey"],
        "notifications-consumer": ["kms:Decrypt"],
    }


def test_keys_rotate_and_topics_are_encrypted(synthesized: Synthesized) -> None:
    keys = synthesized.resources("AWS::KMS::Key")
    assert len(keys) == 3  # the table's, the messaging one, the personal fields'
    assert all(k["Properties"]["EnableKeyRotation"] for k in keys.values())
    for topic in synthesized.resources("AWS::SNS::Topic").values():
        assert "MessagingKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])


def test_every_taggable_resource_carries_project_and_environment(
    synthesized: Synthesized,
) -> None:
    for function in synthesized.resources("AWS::Lambda::Function").values():
        tags = {t["Key"]: t["Value"] for t in function["Properties"]["Tags"]}
        assert tags == {"project": "serverless-blueprint", "environment": synthesized.name}
    for queue in synthesized.resources("AWS::SQS::Queue").values():
        tags = {t["Key"]: t["Value"] for t in queue["Properties"]["Tags"]}
        assert tags["environment"] == synthesized.name


def test_cdk_nag_aws_solutions_reports_nothing_unsuppressed(synthesized: Synthesized) -> None:
    # Given cdk-nag's AwsSolutions pack as an aspect on the app, When synthesized,
    # Then no error or warning remains: every exception is suppressed with its reason.
    assert synthesized.findings() == []


def test_every_suppression_carries_a_reason(synthesized: Synthesized) -> None:
    suppressions = [
        rule
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert suppressions
    assert all(len(rule["reason"]) > 40 for rule in suppressions)


def test_service_discovery_parameters_follow_the_naming_scheme(synthesized: Synthesized) -> None:
    names = {p["Properties"]["Name"] for p in synthesized.resources("AWS::SSM::Parameter").values()}
    prefix = f"/serverless-blueprint/{synthesized.name}"
    assert all(name.startswith(f"{prefix}/") and name.count("/") == 4 for name in names)
    expected = {
        f"{prefix}/database/table-name",
        f"{prefix}/cognito/user-pool-id",
        f"{prefix}/events/bus-name",
        f"{prefix}/api/url",
    } | {f"{prefix}/{service}/function-arn" for service in FUNCTIONS}
    assert expected <= names


def statements_with_action(
    synthesized: Synthesized, service: str, action: str
) -> list[dict[str, Any]]:
    return [s for s in function_policy(synthesized, service) if action in as_list(s["Action"])]


def test_email_is_sent_only_from_the_declared_sender_identity(synthesized: Synthesized) -> None:
    sender = ENVIRONMENTS[synthesized.name].notification_sender
    for service, declaration in FUNCTIONS.items():
        sending = statements_with_action(synthesized, service, "ses:SendEmail")
        if "sesv2" not in declaration.aws_services:
            assert sending == []
            continue
        (statement,) = sending
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}
        resources = json.dumps(statement["Resource"])
        assert f":identity/{sender.partition('@')[2]}" in resources
        assert f":identity/{sender}" in resources


def test_sms_publishing_is_the_documented_star_exception(synthesized: Synthesized) -> None:
    (statement,) = statements_with_action(synthesized, "notifications-consumer", "sns:Publish")
    assert statement["Resource"] == "*"
    role = synthesized.resources("AWS::IAM::Role", "Functions")
    (consumer_role,) = [r for i, r in role.items() if i.startswith("NotificationsConsumerRole")]
    reasons = [
        rule["reason"]
        for rule in consumer_role["Metadata"]["cdk_nag"]["rules_to_suppress"]
        if rule["id"] == "AwsSolutions-IAM5"
    ]
    assert any("SMS" in reason for reason in reasons)


def test_feature_flags_are_readable_from_their_profile_only(synthesized: Synthesized) -> None:
    for service, declaration in FUNCTIONS.items():
        reading = statements_with_action(
            synthesized, service, "appconfig:StartConfigurationSession"
        )
        if "appconfigdata" not in declaration.aws_services:
            assert reading == []
            continue
        (statement,) = reading
        assert sorted(as_list(statement["Action"])) == [
            "appconfig:GetLatestConfiguration",
            "appconfig:StartConfigurationSession",
        ]
        arn = json.dumps(statement["Resource"])
        assert all(part in arn for part in ("/environment/", "/configuration/", "FeatureFlags"))


def test_only_prod_reads_the_origin_secret_and_only_that_secret(
    dev: Synthesized, prod: Synthesized
) -> None:
    readers = [k for k, d in FUNCTIONS.items() if "secretsmanager" in d.aws_services]
    assert readers
    for service in readers:
        assert statements_with_action(dev, service, "secretsmanager:GetSecretValue") == []
        (statement,) = statements_with_action(prod, service, "secretsmanager:GetSecretValue")
        assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
        assert "OriginSecret" in json.dumps(statement["Resource"])


def test_prod_rotates_the_origin_secret_and_updates_only_its_distribution(
    prod: Synthesized,
) -> None:
    # Given prod's rotation schedule of the origin secret
    (schedule,) = prod.resources("AWS::SecretsManager::RotationSchedule", "Api").values()
    properties = schedule["Properties"]
    assert properties["RotationRules"]["ScheduleExpression"] == f"rate({ROTATE_EVERY.days} days)"
    assert "OriginSecret" in json.dumps(properties["SecretId"])
    # Then its function may touch that secret and CloudFront's distribution, nothing else
    function_id = properties["RotationLambdaARN"]["Fn::GetAtt"][0]
    function = prod.resources("AWS::Lambda::Function", "Api")[function_id]["Properties"]
    assert function["Handler"] == ORIGIN_SECRET_ROTATION.handler
    assert function["Architectures"] == ["arm64"]
    policies = prod.resources("AWS::IAM::Policy", "Api").values()
    (policy,) = [p for p in policies if "OriginSecretRotation" in json.dumps(p["Properties"])]
    granted = {
        action: json.dumps(statement["Resource"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    for action in ORIGIN_SECRET_ROTATION.actions_on("secretsmanager"):
        assert "OriginSecret" in granted[action]
    for action in ORIGIN_SECRET_ROTATION.actions_on("cloudfront"):
        assert ":distribution/" in granted[action]
    assert set(granted) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *ORIGIN_SECRET_ROTATION.actions_on("secretsmanager"),
        *ORIGIN_SECRET_ROTATION.actions_on("cloudfront"),
    }


def test_a_failed_rotation_pages(prod: Synthesized) -> None:
    alarms = prod.resources("AWS::CloudWatch::Alarm", "Monitoring").values()
    (alarm,) = [
        a["Properties"]
        for a in alarms
        if "rotation failed" in json.dumps(a["Properties"].get("AlarmDescription", ""))
    ]
    assert alarm["MetricName"] == "Errors"
    assert alarm["Threshold"] == 0
    assert "Critical" in json.dumps(alarm["AlarmActions"])


def test_dev_has_no_origin_secret_to_rotate(dev: Synthesized) -> None:
    assert dev.resources("AWS::SecretsManager::RotationSchedule") == {}
