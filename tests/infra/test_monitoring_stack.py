"""Monitoring stack: alarms at the declared thresholds, dashboards, error-log metrics, budget."""

from __future__ import annotations

import json
from typing import Any

from libs.resources import metrics
from libs.resources.api_routes import ROUTES
from libs.resources.environments import ENVIRONMENTS
from libs.resources.events import CONSUMER_QUEUES
from libs.resources.functions import FUNCTIONS
from libs.resources.slo import ALARMS, BUSINESS_ALARMS, SLO
from tests.infra.conftest import Synthesized


def alarm_named(synthesized: Synthesized, fragment: str) -> dict[str, Any]:
    alarms = synthesized.resources("AWS::CloudWatch::Alarm", "Monitoring").values()
    (alarm,) = [a["Properties"] for a in alarms if fragment in a["Properties"].get("AlarmName", "")]
    properties: dict[str, Any] = alarm
    return properties


def test_api_5xx_rate_alarm_uses_the_declared_budget_and_window(synthesized: Synthesized) -> None:
    alarm = alarm_named(synthesized, "HttpApi-Fault-Rate")
    assert alarm["Threshold"] == SLO.api_5xx_percent / 100
    periods = {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert periods == {SLO.api_5xx_minutes * 60}
    assert alarm["EvaluationPeriods"] == 1


def test_api_latency_alarms_use_the_default_objective(synthesized: Synthesized) -> None:
    assert alarm_named(synthesized, "Latency-P95")["Threshold"] == SLO.default_latency.p95_ms
    assert alarm_named(synthesized, "Latency-P99")["Threshold"] == SLO.default_latency.p99_ms


def test_each_route_with_its_own_objective_has_p95_and_p99_alarms(
    synthesized: Synthesized,
) -> None:
    alarms = [
        a["Properties"]
        for a in synthesized.resources("AWS::CloudWatch::Alarm", "Monitoring").values()
        if any(d["Name"] == "Route" for d in a["Properties"].get("Dimensions", []))
    ]
    found = {
        (
            next(d["Value"] for d in a["Dimensions"] if d["Name"] == "Route"),
            a["ExtendedStatistic"],
        ): a["Threshold"]
        for a in alarms
    }
    expected = {}
    for route_key, objective in SLO.route_latency.items():
        expected[(route_key, "p95")] = objective.p95_ms
        expected[(route_key, "p99")] = objective.p99_ms
    assert found == expected


def test_table_throttles_queue_depth_and_any_dead_letter_alarm(synthesized: Synthesized) -> None:
    assert alarm_named(synthesized, "Read-Throttled")["Threshold"] == ALARMS.dynamodb_throttles
    assert alarm_named(synthesized, "Write-Throttled")["Threshold"] == ALARMS.dynamodb_throttles
    for queue in CONSUMER_QUEUES:
        depth = alarm_named(synthesized, f"{queue.name}-{synthesized.name}-Queue-Message-Count")
        assert depth["Threshold"] == ALARMS.queue_depth
        dead = alarm_named(synthesized, f"{queue.dead_letter.name}-{synthesized.name}-DLQ")
        assert dead["Threshold"] == ALARMS.dlq_messages
        assert dead["ComparisonOperator"] == "GreaterThanThreshold"


def test_error_logs_are_counted_and_alarmed_for_every_function(synthesized: Synthesized) -> None:
    filters = synthesized.resources("AWS::Logs::MetricFilter", "Monitoring").values()
    errors = [f for f in filters if f["Properties"]["FilterPattern"] == '{ $.level = "ERROR" }']
    assert len(errors) == len(FUNCTIONS)
    assert len({f["Properties"]["LogGroupName"]["Fn::ImportValue"] for f in errors}) == len(
        FUNCTIONS
    )


def test_dashboards_overview_one_per_function_and_business(synthesized: Synthesized) -> None:
    names = {
        d["Properties"].get("DashboardName")
        for d in synthesized.resources("AWS::CloudWatch::Dashboard", "Monitoring").values()
    }
    prefix = ENVIRONMENTS[synthesized.name].stack_prefix
    assert f"{prefix}-business" in names
    assert {f"{prefix}-{key}" for key in FUNCTIONS} <= names
    assert len(names) >= len(FUNCTIONS) + 2


def test_budget_notifies_at_the_declared_shares_of_the_monthly_amount(
    synthesized: Synthesized,
) -> None:
    environment = ENVIRONMENTS[synthesized.name]
    budget = synthesized.only("AWS::Budgets::Budget", "Monitoring")["Properties"]
    assert budget["Budget"]["BudgetLimit"] == {
        "Amount": environment.monthly_budget_usd,
        "Unit": "USD",
    }
    thresholds = sorted(
        n["Notification"]["Threshold"] for n in budget["NotificationsWithSubscribers"]
    )
    assert thresholds == [80, 100]


def test_every_route_objective_names_a_declared_route() -> None:
    assert set(SLO.route_latency) <= {route.route_key for route in ROUTES}


def test_any_batch_the_outbox_relay_gave_up_on_pages(synthesized: Synthesized) -> None:
    for declaration in FUNCTIONS.values():
        if declaration.stream is None:
            continue
        name = f"{declaration.stream.failures.name}-{synthesized.name}-Queue-Message-Count"
        alarm = alarm_named(synthesized, name)
        assert alarm["Threshold"] == ALARMS.dlq_messages
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert "Critical" in json.dumps(alarm["AlarmActions"])


def test_a_stream_consumer_falling_behind_pages(synthesized: Synthesized) -> None:
    # Given the functions that read the table's stream (the outbox relay)
    consumers = [d for d in FUNCTIONS.values() if d.stream is not None]
    assert consumers
    alarms = synthesized.resources("AWS::CloudWatch::Alarm", "Monitoring").values()
    # Then each has one critical alarm on its iterator age at the declared threshold
    for declaration in consumers:
        (alarm,) = [
            a["Properties"]
            for a in alarms
            if declaration.service in a["Properties"].get("AlarmName", "")
            and "Iterator" in a["Properties"].get("AlarmName", "")
        ]
        assert alarm["Threshold"] == ALARMS.stream_iterator_age_seconds * 1000
        assert "IteratorAge" in json.dumps(alarm["Metrics"])
        assert "Critical" in json.dumps(alarm["AlarmActions"])


def alarms_described(synthesized: Synthesized, fragment: str) -> list[dict[str, Any]]:
    """Every monitoring alarm whose description contains ``fragment``."""
    return [
        alarm["Properties"]
        for alarm in synthesized.resources("AWS::CloudWatch::Alarm", "Monitoring").values()
        if fragment in json.dumps(alarm["Properties"].get("AlarmDescription", ""))
    ]


def expressions(alarm: dict[str, Any]) -> list[str]:
    return [m["Expression"] for m in alarm.get("Metrics", []) if "Expression" in m]


def test_availability_alarm_pages_below_the_declared_objective(synthesized: Synthesized) -> None:
    (alarm,) = alarms_described(synthesized, "API availability below")
    assert alarm["Threshold"] == SLO.api_availability_percent
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    periods = {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert periods == {SLO.api_availability_minutes * 60}
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"5xx", "Count"}


def test_every_function_has_a_memory_alarm_at_the_declared_share_of_its_size(
    synthesized: Synthesized,
) -> None:
    filters = synthesized.resources("AWS::Logs::MetricFilter", "Monitoring").values()
    report_filters = [
        f["Properties"] for f in filters if "REPORT" in f["Properties"]["FilterPattern"]
    ]
    assert len(report_filters) == len(FUNCTIONS)
    assert {f["MetricTransformations"][0]["MetricValue"] for f in report_filters} == {
        "$max_memory_used"
    }
    alarms = alarms_described(synthesized, "peak memory above")
    assert len(alarms) == len(FUNCTIONS)
    environment = ENVIRONMENTS[synthesized.name]
    for declaration in FUNCTIONS.values():
        memory = environment.sizing(declaration).memory_mb
        assert memory is not None
        (alarm,) = [
            a for a in alarms if a["AlarmDescription"].startswith(f"{declaration.service}:")
        ]
        assert alarm["Threshold"] == memory * ALARMS.memory_percent_of_size / 100


def test_every_function_has_a_cold_start_rate_alarm(synthesized: Synthesized) -> None:
    alarms = alarms_described(synthesized, "started a container")
    assert len(alarms) == len(FUNCTIONS)
    for alarm in alarms:
        assert alarm["Threshold"] == ALARMS.cold_start_percent
        stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
        cold = next(s for s in stats if s["Metric"]["MetricName"] == "ColdStart")
        assert {d["Name"] for d in cold["Metric"]["Dimensions"]} == {"function_name", "service"}
        assert cold["Period"] == ALARMS.cold_start_minutes * 60


def test_business_failure_rate_alarms_use_the_declared_thresholds(
    synthesized: Synthesized,
) -> None:
    for (succeeded, failed), threshold in (
        (metrics.ORDER_FAILURE_RATE, BUSINESS_ALARMS.order_failure_percent),
        (metrics.REGISTRATION_FAILURE_RATE, BUSINESS_ALARMS.registration_failure_percent),
    ):
        (alarm,) = alarms_described(synthesized, f"{failed.title}: more than")
        assert alarm["Threshold"] == threshold
        names = {
            m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m
        }
        assert names == {succeeded.name, failed.name}


def test_a_revenue_drop_alarm_per_declared_currency(synthesized: Synthesized) -> None:
    alarms = alarms_described(synthesized, "Revenue in")
    assert len(alarms) == len(BUSINESS_ALARMS.revenue_currencies)
    for currency in BUSINESS_ALARMS.revenue_currencies:
        (alarm,) = [a for a in alarms if f"Revenue in {currency}" in a["AlarmDescription"]]
        assert alarm["ComparisonOperator"] == "LessThanLowerThreshold"
        width = BUSINESS_ALARMS.revenue_band_standard_deviations
        assert expressions(alarm) == [f"ANOMALY_DETECTION_BAND(revenue, {width})"]
        (stat,) = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
        assert stat["Metric"]["MetricName"] == metrics.ORDER_VALUE.name
        assert {"Name": metrics.CURRENCY_DIMENSION, "Value": currency} in stat["Metric"][
            "Dimensions"
        ]
        assert stat["Period"] == BUSINESS_ALARMS.revenue_period_minutes * 60


def test_the_business_dashboard_shows_every_declared_business_metric(
    synthesized: Synthesized,
) -> None:
    dashboards = synthesized.resources("AWS::CloudWatch::Dashboard", "Monitoring")
    body = next(
        json.dumps(d["Properties"]["DashboardBody"])
        for d in dashboards.values()
        if "business" in json.dumps(d["Properties"].get("DashboardName", ""))
    )
    for metric in (*metrics.BUSINESS_DASHBOARD, metrics.ORDER_VALUE):
        assert metric.name in body
