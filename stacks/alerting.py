"""Alerting stack: the SNS topics alarms notify, one for pages (critical) and one for warnings.

Deployed before the stacks whose alarms notify them; the monitoring stack holds the dashboards.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration


class AlertingStack(Stack):
    """``critical`` (someone is paged) and ``warning`` (looked at in working hours)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        messaging_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.critical = self._topic("Critical", environment, messaging_key)
        self.warning = self._topic("Warning", environment, messaging_key)

    def _topic(self, name: str, environment: EnvironmentDeclaration, key: kms.IKey) -> sns.Topic:
        topic = sns.Topic(
            self,
            name,
            display_name=f"{environment.stack_prefix} {name.lower()} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # AWS Budgets notifies through this topic too (CloudWatch alarms need no policy).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["SNS:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        for email in environment.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic
