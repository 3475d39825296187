"""Functions stack: one Lambda function per declaration, with its role, logs, alias and alarms.

Every function is arm64/python3.13, bundled locally (``stacks.bundling``), traced by X-Ray, logs to
its own log group, and is reached only through its ``live`` alias. Its role grants exactly the
actions the declaration lists, on the declared resources only. The function's two alarms (error
rate, duration near the timeout) live here because the CodeDeploy canary rolls back on them.
The event source mappings live here too: consumer queues feed their consumers, and the table's
stream feeds the outbox relay (only INSERTs of outbox items, bisected and retried on error, a
batch that still fails recorded in its failure queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from libs import config
from libs.resources.environments import EnvironmentDeclaration
from libs.resources.events import CONSUMER_QUEUES, EVENTS
from libs.resources.functions import FUNCTIONS, FunctionDeclaration, StreamSource
from libs.resources.keys import PII_KMS_CONTEXT
from libs.resources.metrics import metrics_namespace
from libs.resources.slo import ALARMS, SLO
from libs.resources.table import MAIN_TABLE
from libs.table_keys import OUTBOX_PREFIX
from stacks import discovery, nag
from stacks.bundling import ARCHITECTURE, RUNTIME, FunctionBundler
from stacks.config import FlagsProfile

LIVE_ALIAS = "live"
# Where HTTP functions without provisioned concurrency restore from a SnapStart snapshot instead
# of initialising. Not in dev: every deploy publishes a version whose snapshot is billed while it
# is cached (three hours at least), for an environment whose few cold starts nobody waits on.
SNAP_START_ENVIRONMENTS = frozenset({"prod"})
SMS_REASON = (
    "SNS Publish to a phone number (SMS) names no topic, so it has no resource to scope to; "
    "only the notifications consumer declares it."
)
# Actions that need the table's key to decrypt only, and those that also encrypt.
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem"}


@dataclass(frozen=True)
class Resources:
    """What the functions call, from the stacks that own them."""

    table: dynamodb.TableV2
    index_arns: list[str]
    data_key: kms.IKey
    pii_key: kms.IKey  # seals personal fields (libs/sealed_fields.py)
    event_bus: events.IEventBus
    user_pool: cognito.IUserPool
    user_pool_client: cognito.IUserPoolClient
    critical: sns.ITopic
    warning: sns.ITopic
    consumer_queues: Mapping[str, sqs.IQueue]  # by the declared queue's logical id
    stream_failure_queues: Mapping[str, sqs.IQueue]  # by the declared queue's logical id
    flags: FlagsProfile
    # CloudFront's X-Origin-Verify value, where CloudFront fronts the API (None elsewhere).
    origin_secret: secretsmanager.ISecret | None = None


class FunctionsStack(Stack):
    """Every declared function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        resources: Resources,
        bundler: FunctionBundler,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.functions = {
            key: ServiceFunction(
                self,
                _construct_id(key),
                declaration=declaration,
                environment=environment,
                resources=resources,
                bundler=bundler,
            )
            for key, declaration in FUNCTIONS.items()
        }
        for queue in CONSUMER_QUEUES:
            if queue.consumer not in self.functions:
                raise KeyError(f"{queue.logical_id} is consumed by undeclared {queue.consumer!r}")
            self.functions[queue.consumer].alias.add_event_source(
                event_sources.SqsEventSource(
                    resources.consumer_queues[queue.logical_id],
                    batch_size=queue.batch_size,
                    max_batching_window=(
                        Duration.seconds(queue.batching_window_seconds)
                        if queue.batching_window_seconds
                        else None
                    ),
                    report_batch_item_failures=queue.report_batch_item_failures,
                )
            )
        for key, function in self.functions.items():
            if function.declaration.stream is not None:
                self._stream_source(key, function, function.declaration.stream, resources)

    def _stream_source(
        self, key: str, function: ServiceFunction, source: StreamSource, resources: Resources
    ) -> None:
        """The table's stream feeding ``function``: filtered, bisected, failures recorded."""
        if resources.table.table_stream_arn is None:
            raise ValueError(f"{key} reads the table's stream, but the table has none")
        function.alias.add_event_source(
            event_sources.DynamoEventSource(
                resources.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=source.batch_size,
                max_batching_window=(
                    Duration.seconds(source.batching_window_seconds)
                    if source.batching_window_seconds
                    else None
                ),
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                retry_attempts=source.retry_attempts,
                on_failure=event_sources.SqsDlq(
                    resources.stream_failure_queues[source.failures.logical_id]
                ),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal(source.event_name),
                            "dynamodb": {
                                "NewImage": {
                                    MAIN_TABLE.keys.partition: {
                                        "S": lambda_.FilterRule.begins_with(source.partition_prefix)
                                    }
                                }
                            },
                        }
                    )
                ],
            )
        )

    @property
    def http_functions(self) -> dict[str, ServiceFunction]:
        """The functions behind the HTTP API's routes."""
        return {
            key: function
            for key, function in self.functions.items()
            if function.declaration.trigger == "http"
        }


class ServiceFunction(Construct):
    """A declared function: least-privilege role, log group, ``live`` alias, alarms, canary."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        declaration: FunctionDeclaration,
        environment: EnvironmentDeclaration,
        resources: Resources,
        bundler: FunctionBundler,
    ) -> None:
        super().__init__(scope, construct_id)
        self.declaration = declaration
        sizing = environment.sizing(declaration)
        assert sizing.memory_mb is not None
        assert sizing.timeout_seconds is not None
        self.timeout_seconds = sizing.timeout_seconds
        self.memory_mb = sizing.memory_mb
        removal = RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(environment.log_retention_days),
            removal_policy=removal,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{declaration.service}: exactly the calls its declaration lists",
        )
        # Instead of AWSLambdaBasicExecutionRole, which may write to any log group.
        self.log_group.grant_write(self.role)
        _grant_declared_access(self.role, declaration, resources, environment)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=declaration.handler,
            code=bundler.code(declaration),
            memory_size=sizing.memory_mb,
            timeout=Duration.seconds(sizing.timeout_seconds),
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            snap_start=(
                lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS
                if uses_snap_start(declaration, environment)
                else None
            ),
            log_group=self.log_group,
            environment={
                config.TABLE_NAME: resources.table.table_name,
                config.EVENT_BUS_NAME: resources.event_bus.event_bus_name,
                config.USER_POOL_ID: resources.user_pool.user_pool_id,
                config.USER_POOL_CLIENT_ID: resources.user_pool_client.user_pool_client_id,
                "POWERTOOLS_SERVICE_NAME": declaration.service,
                "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace(declaration.service),
                **_channel_environment(declaration, environment),
                **_flags_environment(declaration, resources.flags),
                **_origin_environment(declaration, resources.origin_secret),
                **_pii_environment(declaration, resources.pii_key),
            },
            description=f"{environment.stack_prefix} {declaration.service}",
        )
        nag.accept(self.role, "IAM5", nag.XRAY_REASON, applies_to=["Resource::*"])
        nag.accept(
            self.function,
            "L1",
            f"{RUNTIME.name} is the declared target: the bundle's wheels are built for it "
            "(stacks/bundling.py); move when every dependency ships wheels for the newer one.",
        )
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=LIVE_ALIAS,
            version=self.function.current_version,
            provisioned_concurrent_executions=sizing.provisioned_concurrency or None,
        )
        discovery.publish(
            self, environment, declaration.service, {"function-arn": self.alias.function_arn}
        )
        self.error_rate_alarm = self._error_rate_alarm(resources.critical)
        self.duration_alarm = self._duration_alarm(resources.warning)
        if environment.canary_deployments:
            canary = codedeploy.LambdaDeploymentGroup(
                self,
                "Canary",
                alias=self.alias,
                deployment_config=codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
                alarms=[self.error_rate_alarm, self.duration_alarm],
                auto_rollback=codedeploy.AutoRollbackConfig(
                    failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
                ),
            )
            nag.accept(
                canary,
                "IAM4",
                "AWSCodeDeployRoleForLambdaLimited is AWS's minimal policy for CodeDeploy to "
                "shift a Lambda alias; it follows the service's changes.",
                applies_to=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSCodeDeployRoleForLambdaLimited"
                ],
            )

    def _error_rate_alarm(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        period = Duration.minutes(SLO.function_error_minutes)
        rate = cloudwatch.MathExpression(
            expression="100 * errors / MAX([errors, invocations])",
            using_metrics={
                "errors": self.alias.metric_errors(period=period, statistic="Sum"),
                "invocations": self.alias.metric_invocations(period=period, statistic="Sum"),
            },
            period=period,
            label="Error rate (%)",
        )
        alarm = rate.create_alarm(
            self,
            "ErrorRateAlarm",
            alarm_description=(
                f"{self.declaration.service}: more than {SLO.function_error_percent}% of "
                f"invocations failed over {SLO.function_error_minutes} minutes"
            ),
            threshold=SLO.function_error_percent,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        return alarm

    def _duration_alarm(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        limit_ms = self.timeout_seconds * 1000 * ALARMS.duration_percent_of_timeout / 100
        alarm = self.alias.metric_duration(
            period=Duration.minutes(5), statistic="p99"
        ).create_alarm(
            self,
            "DurationAlarm",
            alarm_description=(
                f"{self.declaration.service}: p99 duration above "
                f"{ALARMS.duration_percent_of_timeout}% of the {self.timeout_seconds} s timeout"
            ),
            threshold=limit_ms,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        return alarm


def _grant_declared_access(
    role: iam.Role,
    declaration: FunctionDeclaration,
    resources: Resources,
    environment: EnvironmentDeclaration,
) -> None:
    """Exactly the declared actions, each on its declared resource; an undeclared one fails."""
    stack = Stack.of(role)
    for access in declaration.access:
        if not access.actions:
            continue  # unsigned calls (Cognito's user APIs): nothing to grant
        if access.service == "dynamodb":
            _grant_table(role, access.actions, resources, stack.region)
        elif access.service == "events":
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions),
                    resources=[resources.event_bus.event_bus_arn],
                    conditions={
                        "StringEquals": {"events:source": publishable_sources(declaration)}
                    },
                )
            )
        elif access.service == "cognito-idp":
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions), resources=[resources.user_pool.user_pool_arn]
                )
            )
        elif access.service == "sesv2":
            # SES authorizes the identity that verified the sender: its domain, or the address.
            sender = environment.notification_sender
            identities = (sender.partition("@")[2], sender)
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions),
                    resources=[
                        stack.format_arn(service="ses", resource="identity", resource_name=name)
                        for name in identities
                    ],
                    conditions={
                        "StringEquals": {"ses:FromAddress": environment.notification_sender}
                    },
                )
            )
        elif access.service == "sns":
            # SMS to a phone number has no ARN to name: the one documented "*" besides X-Ray.
            role.add_to_policy(iam.PolicyStatement(actions=list(access.actions), resources=["*"]))
            nag.accept(role, "IAM5", SMS_REASON, applies_to=["Resource::*"])
        elif access.service == "kms":
            # Only data keys made for personal fields: the KMS context the sealer always sends.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions),
                    resources=[resources.pii_key.key_arn],
                    conditions={
                        "StringEquals": {
                            f"kms:EncryptionContext:{name}": value
                            for name, value in PII_KMS_CONTEXT.items()
                        }
                    },
                )
            )
        elif access.service == "appconfigdata":
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions), resources=[resources.flags.arn(stack)]
                )
            )
        elif access.service == "secretsmanager":
            if resources.origin_secret is None:
                continue  # no CloudFront here: the function never reads the secret
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(access.actions), resources=[resources.origin_secret.secret_arn]
                )
            )
        else:
            raise ValueError(f"{declaration.service}: no resource is known for {access.service!r}")


def _grant_table(
    role: iam.Role, actions: tuple[str, ...], resources: Resources, region: str
) -> None:
    role.add_to_policy(
        iam.PolicyStatement(
            actions=list(actions), resources=[resources.table.table_arn, *resources.index_arns]
        )
    )
    # DynamoDB calls KMS for the caller: decrypt to read, also encrypt to write.
    writes = {a.partition(":")[2] for a in actions} - _READS
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:DescribeKey"]
            + (["kms:Encrypt", "kms:GenerateDataKey"] if writes else []),
            resources=[resources.data_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        )
    )


def _channel_environment(
    declaration: FunctionDeclaration, environment: EnvironmentDeclaration
) -> dict[str, str]:
    """Real email/SMS delivery for a function that declares SES access (local logs otherwise)."""
    if "sesv2" not in declaration.aws_services:
        return {}
    return {
        config.NOTIFICATION_CHANNELS: "aws",
        config.NOTIFICATION_SENDER: environment.notification_sender,
    }


def _flags_environment(declaration: FunctionDeclaration, flags: FlagsProfile) -> dict[str, str]:
    """Where a function that declares AppConfig access reads its feature flags."""
    if "appconfigdata" not in declaration.aws_services:
        return {}
    return {
        config.FLAGS_APPLICATION: flags.application_id,
        config.FLAGS_ENVIRONMENT: flags.environment_id,
        config.FLAGS_PROFILE: flags.profile_id,
    }


def _origin_environment(
    declaration: FunctionDeclaration, origin_secret: secretsmanager.ISecret | None
) -> dict[str, str]:
    """The origin secret's ARN, for HTTP functions behind CloudFront: they refuse bypassers."""
    if origin_secret is None or "secretsmanager" not in declaration.aws_services:
        return {}
    return {config.ORIGIN_VERIFY_SECRET_ARN: origin_secret.secret_arn}


def _pii_environment(declaration: FunctionDeclaration, pii_key: kms.IKey) -> dict[str, str]:
    """The personal-fields key's ARN, for the functions that seal or open those fields."""
    if "kms" not in declaration.aws_services:
        return {}
    return {config.PII_KEY_ARN: pii_key.key_arn}


def uses_snap_start(declaration: FunctionDeclaration, environment: EnvironmentDeclaration) -> bool:
    """Whether the function's versions start from a SnapStart snapshot here.

    The two remedies for a cold start exclude each other on a version: provisioned concurrency
    keeps instances initialised (the hot paths, paid per hour), SnapStart restores new ones
    from a snapshot of an initialised one (paid per cached snapshot and per restore). HTTP
    functions get one or the other where a user waits on them; functions fed by queues and the
    stream get neither: a cold start only delays a batch.
    """
    return (
        environment.name in SNAP_START_ENVIRONMENTS
        and declaration.trigger == "http"
        and not environment.sizing(declaration).provisioned_concurrency
    )


def publishable_sources(declaration: FunctionDeclaration) -> list[str]:
    """The event sources a function may put on the bus: its service's own declared events', or
    every declared source for the outbox relay (it publishes what each service recorded)."""
    stream = declaration.stream
    if stream is not None and stream.partition_prefix == OUTBOX_PREFIX:
        return sorted({event.SOURCE for event in EVENTS})
    sources = sorted(
        {event.SOURCE for event in EVENTS if event.SOURCE.rpartition(".")[2] == declaration.service}
    )
    if not sources:
        raise ValueError(f"{declaration.service} may put events but no declared event is its own")
    return sources


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs' retention setting for ``days``."""
    choices = {
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        60: logs.RetentionDays.TWO_MONTHS,
        90: logs.RetentionDays.THREE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
    }
    if days not in choices:
        raise ValueError(f"log retention of {days} days: choose one of {sorted(choices)}")
    return choices[days]


def _construct_id(key: str) -> str:
    return "".join(part.title() for part in key.split("-"))
