"""Functions stack: runtime, tracing, logs, sizing, alias, alarms and canary per environment."""

from __future__ import annotations

import json
from typing import Any

from libs import config
from libs.resources.environments import ENVIRONMENTS
from libs.resources.events import CONSUMER_QUEUES
from libs.resources.functions import FUNCTIONS
from libs.resources.slo import ALARMS, SLO
from tests.infra.conftest import Synthesized


def functions_by_handler(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["Handler"]: resource["Properties"]
        for resource in synthesized.resources("AWS::Lambda::Function", "Functions").values()
    }


def test_one_function_per_declaration_on_arm64_python313_with_active_tracing(
    synthesized: Synthesized,
) -> None:
    # Given the declared functions, When the environment is synthesized
    functions = functions_by_handler(synthesized)
    # Then each declaration has exactly one function, built as the issue demands
    assert sorted(functions) == sorted(d.handler for d in FUNCTIONS.values())
    for properties in functions.values():
        assert properties["Architectures"] == ["arm64"]
        assert properties["Runtime"] == "python3.13"
        assert properties["TracingConfig"] == {"Mode": "Active"}


def test_memory_and_timeout_come_from_the_environment(synthesized: Synthesized) -> None:
    environment = ENVIRONMENTS[synthesized.name]
    functions = functions_by_handler(synthesized)
    for declaration in FUNCTIONS.values():
        sizing = environment.sizing(declaration)
        assert functions[declaration.handler]["MemorySize"] == sizing.memory_mb
        assert functions[declaration.handler]["Timeout"] == sizing.timeout_seconds


def test_prod_overrides_differ_from_dev_where_declared(dev: Synthesized, prod: Synthesized) -> None:
    orders = FUNCTIONS["orders"].handler
    assert functions_by_handler(dev)[orders]["MemorySize"] == FUNCTIONS["orders"].memory_mb
    assert functions_by_handler(prod)[orders]["MemorySize"] == 1536


def test_every_function_logs_to_its_own_group_kept_for_the_environment_retention(
    synthesized: Synthesized,
) -> None:
    groups = synthesized.resources("AWS::Logs::LogGroup", "Functions")
    functions = synthesized.resources("AWS::Lambda::Function", "Functions")
    assert len(groups) == len(functions)
    for _logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"dev": 30, "prod": 90}[synthesized.name]
        assert group["DeletionPolicy"] == ("Retain" if synthesized.name == "prod" else "Delete")
    used = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()}
    assert used == set(groups)


def test_every_function_is_reached_through_its_live_alias(synthesized: Synthesized) -> None:
    aliases = synthesized.resources("AWS::Lambda::Alias", "Functions")
    functions = synthesized.resources("AWS::Lambda::Function", "Functions")
    assert {a["Properties"]["Name"] for a in aliases.values()} == {"live"}
    assert {a["Properties"]["FunctionName"]["Ref"] for a in aliases.values()} == set(functions)


def provisioned(synthesized: Synthesized) -> dict[str, int]:
    found = {}
    for logical_id, alias in synthesized.resources("AWS::Lambda::Alias", "Functions").items():
        config = alias["Properties"].get("ProvisionedConcurrencyConfig")
        if config:
            found[logical_id] = config["ProvisionedConcurrentExecutions"]
    return found


def test_provisioned_concurrency_only_in_prod_and_only_where_declared(
    dev: Synthesized, prod: Synthesized
) -> None:
    assert provisioned(dev) == {}
    declared = {
        service: sizing.provisioned_concurrency
        for service, sizing in ENVIRONMENTS["prod"].functions.items()
        if sizing.provisioned_concurrency
    }
    found = provisioned(prod)
    assert sorted(found.values()) == sorted(declared.values())
    for service in declared:
        assert any(logical_id.startswith(service.title()) for logical_id in found)


def snap_started(synthesized: Synthesized) -> set[str]:
    return {
        properties["Handler"]
        for properties in functions_by_handler(synthesized).values()
        if properties.get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    }


def test_snapstart_in_prod_on_http_functions_not_kept_warm_and_never_with_provisioned(
    dev: Synthesized, prod: Synthesized
) -> None:
    # Given prod's provisioned concurrency on the hot paths
    kept_warm = {
        FUNCTIONS[service].handler
        for service, sizing in ENVIRONMENTS["prod"].functions.items()
        if sizing.provisioned_concurrency
    }
    http = {d.handler for d in FUNCTIONS.values() if d.trigger == "http"}
    assert kept_warm
    assert kept_warm < http
    # Then dev restores nothing from snapshots
    assert snap_started(dev) == set()
    # And prod's other HTTP functions start from a snapshot, queue and stream consumers do not
    assert snap_started(prod) == http - kept_warm


def test_canary_with_automatic_rollback_on_the_functions_alarms_in_prod_only(
    dev: Synthesized, prod: Synthesized
) -> None:
    assert dev.resources("AWS::CodeDeploy::DeploymentGroup") == {}
    groups = prod.resources("AWS::CodeDeploy::DeploymentGroup", "Functions")
    assert len(groups) == len(FUNCTIONS)
    alarms = prod.resources("AWS::CloudWatch::Alarm", "Functions")
    for group in groups.values():
        properties = group["Properties"]
        assert (
            properties["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        )
        assert set(properties["AutoRollbackConfiguration"]["Events"]) >= {
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_ALARM",
        }
        watched = [a["Name"]["Ref"] for a in properties["AlarmConfiguration"]["Alarms"]]
        assert len(watched) == 2
        assert set(watched) <= set(alarms)
    updated = [a for a in prod.resources("AWS::Lambda::Alias").values() if "UpdatePolicy" in a]
    assert len(updated) == len(FUNCTIONS)


def test_error_rate_alarm_per_function_uses_the_declared_budget(synthesized: Synthesized) -> None:
    alarms = [
        a["Properties"]
        for a in synthesized.resources("AWS::CloudWatch::Alarm", "Functions").values()
        if "Metrics" in a["Properties"]
    ]
    assert len(alarms) == len(FUNCTIONS)
    for alarm in alarms:
        assert alarm["Threshold"] == SLO.function_error_percent
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        periods = {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}
        assert periods == {SLO.function_error_minutes * 60}


def test_duration_alarm_at_the_declared_share_of_each_timeout(synthesized: Synthesized) -> None:
    environment = ENVIRONMENTS[synthesized.name]
    thresholds = sorted(
        a["Properties"]["Threshold"]
        for a in synthesized.resources("AWS::CloudWatch::Alarm", "Functions").values()
        if a["Properties"].get("MetricName") == "Duration"
    )
    expected = []
    for declaration in FUNCTIONS.values():
        timeout = environment.sizing(declaration).timeout_seconds
        assert timeout is not None  # sizing() falls back to the declaration's own
        expected.append(timeout * 1000 * ALARMS.duration_percent_of_timeout / 100)
    expected.sort()
    assert thresholds == expected


def test_consumer_queues_feed_their_function_alias_with_partial_batch_responses(
    synthesized: Synthesized,
) -> None:
    mappings = {
        logical_id: mapping
        for logical_id, mapping in synthesized.resources(
            "AWS::Lambda::EventSourceMapping", "Functions"
        ).items()
        if "StartingPosition" not in mapping["Properties"]  # queues have none; streams do
    }
    assert len(mappings) == len(CONSUMER_QUEUES)
    for mapping, queue in zip(mappings.values(), CONSUMER_QUEUES, strict=True):
        properties = mapping["Properties"]
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert properties["BatchSize"] == queue.batch_size
        # The alias, so that canaries cover consumers too.
        assert json.dumps(properties["FunctionName"]).endswith(':live"]]}')


def test_the_tables_stream_feeds_the_outbox_relay_filtered_bisected_and_bounded(
    synthesized: Synthesized,
) -> None:
    # Given the relay's declared stream source
    relay = FUNCTIONS["event-relay"]
    assert relay.stream is not None
    # When synthesized, Then one mapping reads the table's stream into the relay's live alias
    (mapping,) = [
        m["Properties"]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping", "Functions").values()
        if "StartingPosition" in m["Properties"]
    ]
    assert "StreamArn" in json.dumps(mapping["EventSourceArn"])
    assert "EventRelayLive" in json.dumps(mapping["FunctionName"])
    assert json.dumps(mapping["FunctionName"]).endswith(':live"]]}')
    # From the oldest record, retried in halves, resumed after the reported record, bounded
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == relay.stream.retry_attempts
    assert mapping["BatchSize"] == relay.stream.batch_size
    # Only INSERTs of outbox items invoke it
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"PK": {"S": [{"prefix": "OUTBOX#"}]}}},
    }
    # And a batch that still fails is recorded in the declared failure queue
    destination = json.dumps(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    assert relay.stream.failures.logical_id in destination


def environments_by_handler(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        handler: properties["Environment"]["Variables"]
        for handler, properties in functions_by_handler(synthesized).items()
    }


def test_only_flag_readers_are_told_where_the_feature_flags_are(synthesized: Synthesized) -> None:
    flag_variables = {config.FLAGS_APPLICATION, config.FLAGS_ENVIRONMENT, config.FLAGS_PROFILE}
    for declaration in FUNCTIONS.values():
        variables = environments_by_handler(synthesized)[declaration.handler]
        if "appconfigdata" in declaration.aws_services:
            assert flag_variables <= set(variables)
            assert "Config" in json.dumps([variables[name] for name in flag_variables])
        else:
            assert not flag_variables & set(variables)
    assert "appconfigdata" in FUNCTIONS["orders"].aws_services


def test_http_functions_know_the_origin_secret_in_prod_only(
    dev: Synthesized, prod: Synthesized
) -> None:
    http = [d for d in FUNCTIONS.values() if d.trigger == "http"]
    for declaration in http:
        assert (
            config.ORIGIN_VERIFY_SECRET_ARN not in environments_by_handler(dev)[declaration.handler]
        )
        secret = environments_by_handler(prod)[declaration.handler][config.ORIGIN_VERIFY_SECRET_ARN]
        assert "OriginSecret" in json.dumps(secret)
    for declaration in FUNCTIONS.values():
        if declaration.trigger != "http":
            assert (
                config.ORIGIN_VERIFY_SECRET_ARN
                not in environments_by_handler(prod)[declaration.handler]
            )


def test_the_notifications_consumer_sends_for_real_from_the_declared_sender(
    synthesized: Synthesized,
) -> None:
    variables = environments_by_handler(synthesized)[FUNCTIONS["notifications-consumer"].handler]
    assert variables[config.NOTIFICATION_CHANNELS] == "aws"
    sender = ENVIRONMENTS[synthesized.name].notification_sender
    assert variables[config.NOTIFICATION_SENDER] == sender
