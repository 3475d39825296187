"""One environment's stacks, in deployment order, wired to each other."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Environment, Stack, Tags
from constructs import Construct

from libs.resources.environments import PROJECT, EnvironmentDeclaration
from stacks.alerting import AlertingStack
from stacks.api import ApiStack
from stacks.bundling import FunctionBundler
from stacks.cognito import CognitoStack
from stacks.config import ConfigStack
from stacks.database import DatabaseStack
from stacks.events import EventsStack
from stacks.functions import FunctionsStack, Resources
from stacks.monitoring import MonitoringStack
from stacks.security import SecurityStack


@dataclass(frozen=True)
class System:
    """The stacks of one environment."""

    security: SecurityStack
    alerting: AlertingStack
    database: DatabaseStack
    cognito: CognitoStack
    events: EventsStack
    config: ConfigStack
    functions: FunctionsStack
    api: ApiStack
    monitoring: MonitoringStack

    def outputs(self) -> dict[str, CfnOutput]:
        """Every stack output by its id (``ApiUrl``, ``UserPoolId``, …): the outputs file's keys."""
        return {
            child.node.id: child
            for stack in self.stacks
            for child in stack.node.children
            if isinstance(child, CfnOutput)
        }

    @property
    def stacks(self) -> list[Stack]:
        """Every stack, in deployment order."""
        return [
            self.security,
            self.alerting,
            self.database,
            self.cognito,
            self.events,
            self.config,
            self.functions,
            self.api,
            self.monitoring,
        ]


def add_system(
    scope: Construct,
    environment: EnvironmentDeclaration,
    bundler: FunctionBundler,
    env: Environment | None = None,
) -> System:
    """Every stack of ``environment`` under ``scope`` (the app, or a pipeline stage)."""
    prefix = environment.stack_prefix

    def options(name: str) -> dict[str, Any]:
        return {
            "stack_name": f"{prefix}-{name}",
            "env": env,
            "termination_protection": environment.retain_data,
        }

    security = SecurityStack(scope, "Security", environment=environment, **options("security"))
    alerting = AlertingStack(
        scope,
        "Alerting",
        environment=environment,
        messaging_key=security.messaging_key,
        **options("alerting"),
    )
    database = DatabaseStack(
        scope,
        "Database",
        environment=environment,
        data_key=security.data_key,
        **options("database"),
    )
    cognito = CognitoStack(
        scope,
        "Cognito",
        environment=environment,
        web_acl=security.user_pool_acl,
        **options("cognito"),
    )
    events = EventsStack(
        scope,
        "Events",
        environment=environment,
        messaging_key=security.messaging_key,
        table=database.table,
        **options("events"),
    )
    # Before the functions: they read its feature-flag profile.
    config = ConfigStack(scope, "Config", environment=environment, **options("config"))
    functions = FunctionsStack(
        scope,
        "Functions",
        environment=environment,
        resources=Resources(
            table=database.table,
            index_arns=database.index_arns,
            data_key=security.data_key,
            pii_key=security.pii_key,
            event_bus=events.bus,
            user_pool=cognito.user_pool,
            user_pool_client=cognito.client,
            critical=alerting.critical,
            warning=alerting.warning,
            consumer_queues=events.consumer_queues,
            stream_failure_queues=events.stream_failure_queues,
            flags=config.flags_profile,
            origin_secret=security.origin_secret,
        ),
        bundler=bundler,
        **options("functions"),
    )
    api = ApiStack(
        scope,
        "Api",
        environment=environment,
        functions=functions.http_functions,
        jwt_issuer=cognito.issuer,
        jwt_audience=cognito.client.user_pool_client_id,
        edge_acl=security.edge_acl,
        origin_secret=security.origin_secret,
        bundler=bundler,
        **options("api"),
    )
    monitoring = MonitoringStack(
        scope,
        "Monitoring",
        environment=environment,
        api=api,
        database=database,
        functions=functions.functions,
        consumer_queues=dict(events.consumer_queues),
        dead_letter_queues=dict(events.dead_letter_queues),
        failure_queues=dict(events.stream_failure_queues),
        critical=alerting.critical,
        warning=alerting.warning,
        **options("monitoring"),
    )
    system = System(
        security, alerting, database, cognito, events, config, functions, api, monitoring
    )
    for stack in system.stacks:
        Tags.of(stack).add("project", PROJECT)
        Tags.of(stack).add("environment", environment.name)
    return system


def environment_of(environment: EnvironmentDeclaration) -> Environment:
    """Where an environment deploys: its declared region, in the declared or current account."""
    account = environment.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    return Environment(account=account, region=environment.region)
