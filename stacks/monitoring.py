"""Monitoring stack: dashboards, the alarms not owned by a function, log metrics and the budget.

cdk-monitoring-constructs builds the overview and per-resource widgets and the API, table and
queue alarms; the business dashboard and the per-route latency alarms come from the
declarations (``libs/resources/slo.py``). Each function's own alarms live in the functions stack,
where its canary can roll back on them, and are shown here.
"""

from __future__ import annotations

from typing import Any

import cdk_monitoring_constructs as monitoring
from aws_cdk import Duration, Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from libs.resources.api_routes import ROUTES
from libs.resources.environments import EnvironmentDeclaration
from libs.resources.metrics import (
    BUSINESS_DASHBOARD,
    CURRENCY_DIMENSION,
    ORDER_FAILURE_RATE,
    ORDER_VALUE,
    REGISTRATION_FAILURE_RATE,
    MetricDeclaration,
    metrics_namespace,
)
from libs.resources.slo import ALARMS, BUSINESS_ALARMS, SLO
from stacks.api import ApiStack
from stacks.database import DatabaseStack
from stacks.functions import ServiceFunction

# Lambda's own line after each invocation (plain text, as the functions keep Lambda's text log
# format for platform lines): "REPORT RequestId: … Duration: … ms Billed Duration: … ms
# Memory Size: 256 MB Max Memory Used: 81 MB …". Read by position, so the value is its number.
REPORT_LINE_PATTERN = (
    '[report="REPORT", request_label="RequestId:", request_id, duration_label="Duration:", '
    'duration, duration_unit="ms", billed_label="Billed", billed_label2="Duration:", billed, '
    'billed_unit="ms", size_label="Memory", size_label2="Size:", size, size_unit="MB", '
    'max_label="Max", max_label2="Memory", max_label3="Used:", max_memory_used, ...]'
)
MEMORY_METRIC_NAMESPACE = "ServerlessBlueprint/Lambda"
# Alarms that fire on the first bad period: throttling, 5xx rate, dead letters.
ONE_PERIOD: dict[str, Any] = {"evaluation_periods": 1, "datapoints_to_alarm": 1}
ERROR_LOG_PATTERN = '{ $.level = "ERROR" }'
ERROR_LOG_NAMESPACE = "ServerlessBlueprint/Logs"


class MonitoringStack(Stack):
    """Overview, per-service and business dashboards; API, table, queue, log and cost alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        api: ApiStack,
        database: DatabaseStack,
        functions: dict[str, ServiceFunction],
        consumer_queues: dict[str, sqs.IQueue],
        dead_letter_queues: dict[str, sqs.IQueue],
        failure_queues: dict[str, sqs.IQueue],
        critical: sns.ITopic,
        warning: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.critical = critical
        self.warning = warning
        facade = monitoring.MonitoringFacade(
            self,
            "Overview",
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                alarm_name_prefix=environment.stack_prefix,
                actions_enabled=True,
                action=monitoring.SnsAlarmActionStrategy(on_alarm_topic=critical),
            ),
            metric_factory_defaults=monitoring.MetricFactoryDefaults(),
            dashboard_factory=monitoring.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=environment.stack_prefix,
                create_dashboard=True,
                create_summary_dashboard=True,
                create_alarm_dashboard=True,
            ),
        )
        facade.add_large_header("API")
        facade.monitor_api_gateway_v2_http_api(
            api=api.api,
            human_readable_name="HTTP API",
            alarm_friendly_name="HttpApi",
            add5xx_rate_alarm={
                "Critical": monitoring.ErrorRateThreshold(
                    max_error_rate=SLO.api_5xx_percent / 100,
                    period=Duration.minutes(SLO.api_5xx_minutes),
                    **ONE_PERIOD,
                )
            },
            add_latency_p95_alarm={
                "Warning": monitoring.LatencyThreshold(
                    max_latency=Duration.millis(SLO.default_latency.p95_ms),
                    action_override=monitoring.SnsAlarmActionStrategy(on_alarm_topic=warning),
                )
            },
            add_latency_p99_alarm={
                "Critical": monitoring.LatencyThreshold(
                    max_latency=Duration.millis(SLO.default_latency.p99_ms)
                )
            },
        )
        facade.add_large_header("Data")
        facade.monitor_dynamo_table(
            table=database.table,
            human_readable_name="Main table",
            add_read_throttled_events_count_alarm={
                "Critical": monitoring.ThrottledEventsThreshold(
                    max_throttled_events_threshold=ALARMS.dynamodb_throttles, **ONE_PERIOD
                )
            },
            add_write_throttled_events_count_alarm={
                "Critical": monitoring.ThrottledEventsThreshold(
                    max_throttled_events_threshold=ALARMS.dynamodb_throttles, **ONE_PERIOD
                )
            },
        )
        facade.add_large_header("Queues")
        for logical_id, queue in consumer_queues.items():
            facade.monitor_sqs_queue_with_dlq(
                queue=queue,
                dead_letter_queue=dead_letter_queues[logical_id],
                human_readable_name=logical_id,
                add_queue_max_size_alarm={
                    "Warning": monitoring.MaxMessageCountThreshold(
                        max_message_count=ALARMS.queue_depth,
                        action_override=monitoring.SnsAlarmActionStrategy(on_alarm_topic=warning),
                    )
                },
                add_dead_letter_queue_max_size_alarm={
                    "Critical": monitoring.MaxMessageCountThreshold(
                        max_message_count=ALARMS.dlq_messages, **ONE_PERIOD
                    )
                },
            )
        for logical_id, queue in failure_queues.items():
            # A batch the outbox relay gave up on: events that never reached the bus.
            facade.monitor_sqs_queue(
                queue=queue,
                human_readable_name=logical_id,
                add_queue_max_size_alarm={
                    "Critical": monitoring.MaxMessageCountThreshold(
                        max_message_count=ALARMS.dlq_messages, **ONE_PERIOD
                    )
                },
            )
        facade.add_large_header("Functions")
        for function in functions.values():
            facade.monitor_lambda_function(
                lambda_function=function.function,
                human_readable_name=function.declaration.service,
                alarm_friendly_name=function.declaration.service,
                **_stream_alarms(function),
            )
        self._route_latency_alarms(api)
        self._availability_alarm(api)
        self._rotation_alarm(api)
        self._error_log_alarms(functions)
        self._memory_alarms(functions)
        self._cold_start_alarms(functions)
        business = self._business_alarms()
        self._service_dashboards(environment, functions)
        self._business_dashboard(environment, business)
        self._budget(environment)

    def _route_latency_alarms(self, api: ApiStack) -> None:
        """p95 and p99 alarms for every route with its own objective (detailed route metrics)."""
        for route_key, objective in SLO.route_latency.items():
            route = next(r for r in ROUTES if r.route_key == route_key)
            for statistic, threshold, topic in (
                ("p95", objective.p95_ms, self.warning),
                ("p99", objective.p99_ms, self.critical),
            ):
                metric = cloudwatch.Metric(
                    namespace="AWS/ApiGateway",
                    metric_name="Latency",
                    dimensions_map={
                        "ApiId": api.api.api_id,
                        "Stage": "$default",
                        "Route": route.route_key,
                    },
                    statistic=statistic,
                    period=Duration.minutes(5),
                )
                alarm = metric.create_alarm(
                    self,
                    f"Latency{statistic.upper()}{_route_id(route_key)}",
                    alarm_description=f"{route_key}: {statistic} above {threshold} ms (SLO)",
                    threshold=threshold,
                    evaluation_periods=3,
                    datapoints_to_alarm=2,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
                alarm.add_alarm_action(actions.SnsAction(topic))

    def _error_log_alarms(self, functions: dict[str, ServiceFunction]) -> None:
        """A metric of ERROR log lines per function (Powertools logs JSON), alarmed on warning."""
        for key, function in functions.items():
            name = f"{function.declaration.service}-errors"
            metric_filter = logs.MetricFilter(
                self,
                f"ErrorLogs{_route_id(key)}",
                log_group=function.log_group,
                filter_pattern=logs.FilterPattern.literal(ERROR_LOG_PATTERN),
                metric_namespace=ERROR_LOG_NAMESPACE,
                metric_name=name,
                metric_value="1",
                default_value=0,
            )
            alarm = metric_filter.metric(statistic="Sum", period=Duration.minutes(5)).create_alarm(
                self,
                f"ErrorLogsAlarm{_route_id(key)}",
                alarm_description=f"{function.declaration.service} logged errors",
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(self.warning))

    def _service_dashboards(
        self, environment: EnvironmentDeclaration, functions: dict[str, ServiceFunction]
    ) -> None:
        for key, function in functions.items():
            dashboard = cloudwatch.Dashboard(
                self,
                f"Service{_route_id(key)}",
                dashboard_name=f"{environment.stack_prefix}-{key}",
            )
            alias = function.alias
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Invocations and errors",
                    left=[alias.metric_invocations(), alias.metric_errors()],
                    right=[alias.metric_throttles()],
                ),
                cloudwatch.GraphWidget(
                    title="Duration",
                    left=[
                        alias.metric_duration(statistic=s) for s in ("p50", "p95", "p99", "Maximum")
                    ],
                ),
                cloudwatch.AlarmStatusWidget(
                    title="Alarms",
                    alarms=[function.error_rate_alarm, function.duration_alarm],
                ),
            )

    def _availability_alarm(self, api: ApiStack) -> None:
        """Requests answered without a 5xx, as a share of all, below the objective: page."""
        period = Duration.minutes(SLO.api_availability_minutes)
        availability = cloudwatch.MathExpression(
            expression="100 - 100 * FILL(errors, 0) / MAX([FILL(requests, 0), 1])",
            using_metrics={
                "errors": api.api.metric_server_error(period=period, statistic="Sum"),
                "requests": api.api.metric_count(period=period, statistic="Sum"),
            },
            period=period,
            label="Availability (%)",
        )
        alarm = availability.create_alarm(
            self,
            "AvailabilityAlarm",
            alarm_description=(
                f"API availability below {SLO.api_availability_percent}% over "
                f"{SLO.api_availability_minutes} minutes"
            ),
            threshold=SLO.api_availability_percent,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.critical))

    def _rotation_alarm(self, api: ApiStack) -> None:
        """A failed rotation of the origin secret: CloudFront may keep sending the previous
        value, which the functions admit only for a while after the rotation."""
        if api.origin_secret_rotation is None:
            return
        function = api.origin_secret_rotation.function
        alarm = function.metric_errors(period=Duration.minutes(5), statistic="Sum").create_alarm(
            self,
            "OriginSecretRotationAlarm",
            alarm_description=(
                "The origin secret's rotation failed: fix it before the previous value expires"
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.critical))

    def _memory_alarms(self, functions: dict[str, ServiceFunction]) -> None:
        """Peak memory from each invocation's REPORT line against the function's memory size.

        The REPORT line is written and paid for anyway; Lambda Insights would add an extension
        to every cold start and its own log events to every invocation for the same number.
        """
        for key, function in functions.items():
            metric_filter = logs.MetricFilter(
                self,
                f"MaxMemory{_route_id(key)}",
                log_group=function.log_group,
                filter_pattern=logs.FilterPattern.literal(REPORT_LINE_PATTERN),
                metric_namespace=MEMORY_METRIC_NAMESPACE,
                metric_name=f"{function.declaration.service}-max-memory-used-mb",
                metric_value="$max_memory_used",
                unit=cloudwatch.Unit.MEGABYTES,
            )
            assert function.memory_mb is not None
            limit_mb = function.memory_mb * ALARMS.memory_percent_of_size / 100
            alarm = metric_filter.metric(
                statistic="Maximum", period=Duration.minutes(5)
            ).create_alarm(
                self,
                f"MemoryAlarm{_route_id(key)}",
                alarm_description=(
                    f"{function.declaration.service}: peak memory above "
                    f"{ALARMS.memory_percent_of_size}% of its {function.memory_mb} MB"
                ),
                threshold=limit_mb,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(self.warning))

    def _cold_start_alarms(self, functions: dict[str, ServiceFunction]) -> None:
        """Powertools' ColdStart metric against invocations, per function."""
        period = Duration.minutes(ALARMS.cold_start_minutes)
        for key, function in functions.items():
            service = function.declaration.service
            cold_starts = cloudwatch.Metric(
                namespace=metrics_namespace(service),
                metric_name="ColdStart",  # Powertools' name, with these two dimensions
                dimensions_map={
                    "function_name": function.function.function_name,
                    "service": service,
                },
                statistic="Sum",
                period=period,
            )
            rate = cloudwatch.MathExpression(
                expression="100 * FILL(cold, 0) / MAX([FILL(invocations, 0), 1])",
                using_metrics={
                    "cold": cold_starts,
                    "invocations": function.function.metric_invocations(
                        period=period, statistic="Sum"
                    ),
                },
                period=period,
                label="Cold starts (%)",
            )
            alarm = rate.create_alarm(
                self,
                f"ColdStartAlarm{_route_id(key)}",
                alarm_description=(
                    f"{service}: more than {ALARMS.cold_start_percent}% of invocations started "
                    f"a container over {ALARMS.cold_start_minutes} minutes"
                ),
                threshold=ALARMS.cold_start_percent,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(self.warning))

    def _business_alarms(self) -> list[cloudwatch.IWidget]:
        """Order and registration failure rates, and revenue per currency against its model."""
        widgets: list[cloudwatch.IWidget] = []
        for (succeeded, failed), threshold, topic in (
            (ORDER_FAILURE_RATE, BUSINESS_ALARMS.order_failure_percent, self.critical),
            (REGISTRATION_FAILURE_RATE, BUSINESS_ALARMS.registration_failure_percent, self.warning),
        ):
            period = Duration.minutes(BUSINESS_ALARMS.failure_rate_minutes)
            rate = cloudwatch.MathExpression(
                expression="100 * FILL(failed, 0) / MAX([FILL(failed, 0) + FILL(succeeded, 0), 1])",
                using_metrics={
                    "failed": _business_metric(failed, period),
                    "succeeded": _business_metric(succeeded, period),
                },
                period=period,
                label=f"{failed.title} (%)",
            )
            alarm = rate.create_alarm(
                self,
                f"{failed.name}RateAlarm",
                alarm_description=(
                    f"{failed.title}: more than {threshold}% over "
                    f"{BUSINESS_ALARMS.failure_rate_minutes} minutes"
                ),
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            widgets.append(cloudwatch.AlarmWidget(title=f"{failed.title} (%)", alarm=alarm))
        for currency in BUSINESS_ALARMS.revenue_currencies:
            widgets.append(self._revenue_alarm(currency))
        return widgets

    def _revenue_alarm(self, currency: str) -> cloudwatch.IWidget:
        period = Duration.minutes(BUSINESS_ALARMS.revenue_period_minutes)
        revenue = cloudwatch.Metric(
            namespace=metrics_namespace(ORDER_VALUE.service),
            metric_name=ORDER_VALUE.name,
            dimensions_map={"service": ORDER_VALUE.service, CURRENCY_DIMENSION: currency},
            statistic="Sum",
            period=period,
        )
        width = BUSINESS_ALARMS.revenue_band_standard_deviations
        band = cloudwatch.MathExpression(
            expression=f"ANOMALY_DETECTION_BAND(revenue, {width})",
            using_metrics={"revenue": revenue},
            period=period,
            label=f"Expected revenue ({currency})",
        )
        cloudwatch.CfnAlarm(
            self,
            f"RevenueDropAlarm{currency}",
            alarm_description=(
                f"Revenue in {currency} per {BUSINESS_ALARMS.revenue_period_minutes} minutes "
                f"below what the same hours of past weeks make likely ({width} standard "
                "deviations)"
            ),
            comparison_operator="LessThanLowerThreshold",
            evaluation_periods=1,
            threshold_metric_id="band",
            # No orders at all is the worst drop of all.
            treat_missing_data="breaching",
            alarm_actions=[self.critical.topic_arn],
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="revenue",
                    return_data=True,
                    metric_stat=cloudwatch.CfnAlarm.MetricStatProperty(
                        metric=cloudwatch.CfnAlarm.MetricProperty(
                            namespace=revenue.namespace,
                            metric_name=revenue.metric_name,
                            dimensions=[
                                cloudwatch.CfnAlarm.DimensionProperty(name=name, value=value)
                                for name, value in (revenue.dimensions or {}).items()
                            ],
                        ),
                        period=int(period.to_seconds()),
                        stat="Sum",
                    ),
                ),
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="band", expression=band.expression, return_data=True
                ),
            ],
        )
        return cloudwatch.GraphWidget(title=f"Revenue ({currency}, minor units)", left=[band])

    def _business_dashboard(
        self, environment: EnvironmentDeclaration, alarms: list[cloudwatch.IWidget]
    ) -> None:
        dashboard = cloudwatch.Dashboard(
            self, "Business", dashboard_name=f"{environment.stack_prefix}-business"
        )
        dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{metric.title} per minute",
                    left=[_business_metric(metric, Duration.minutes(1))],
                )
                for metric in BUSINESS_DASHBOARD
            )
        )
        dashboard.add_widgets(*alarms)

    def _budget(self, environment: EnvironmentDeclaration) -> None:
        """Monthly cost budget, notifying the warning topic at each declared share."""
        budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=environment.monthly_budget_usd, unit="USD"
                ),
                cost_filters={"TagKeyValue": [f"user:environment${environment.name}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        comparison_operator="GREATER_THAN",
                        notification_type="ACTUAL",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS",
                            address=(self.critical if percent >= 100 else self.warning).topic_arn,
                        )
                    ],
                )
                for percent in environment.budget_alert_percents
            ],
        )


def _stream_alarms(function: ServiceFunction) -> dict[str, Any]:
    """A stream consumer falling behind (for the outbox relay: events reach the bus late)."""
    if function.declaration.stream is None:
        return {}
    threshold = monitoring.MaxAgeThreshold(
        max_age_in_millis=ALARMS.stream_iterator_age_seconds * 1000, **ONE_PERIOD
    )
    return {"add_max_iterator_age_alarm": {"Critical": threshold}}


def _business_metric(metric: MetricDeclaration, period: Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=metrics_namespace(metric.service),
        metric_name=metric.name,
        dimensions_map={"service": metric.service},
        statistic="Sum",
        period=period,
    )


def _route_id(text: str) -> str:
    return "".join(c for c in text.title() if c.isalnum())
