"""Alerting stack: the SNS topics alarms notify, one for pages (critical) and one for warnings.

Deployed before the stacks whose alarms notify them; the monitoring stack holds the dashboards.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration, SlackChannel
from stacks import nag


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
        recipients = environment.alarm_recipients
        if environment.pages and not recipients.anyone:
            Annotations.of(self).add_warning_v2(
                "serverless-blueprint:no-alarm-recipient",
                f"{environment.name} pages on critical alarms but declares no recipient: "
                "set alarm_recipients in libs/resources/environments.py",
            )
        if recipients.slack is not None:
            self._slack(environment, recipients.slack)

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
        for email in environment.alarm_recipients.emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _slack(self, environment: EnvironmentDeclaration, slack: SlackChannel) -> None:
        """Both topics posted to a Slack channel through AWS Chatbot (read-only in the channel)."""
        channel = chatbot.SlackChannelConfiguration(
            self,
            "Slack",
            slack_channel_configuration_name=f"{environment.stack_prefix}-alarms",
            slack_workspace_id=slack.workspace_id,
            slack_channel_id=slack.channel_id,
            notification_topics=[self.critical, self.warning],
            logging_level=chatbot.LoggingLevel.ERROR,
            guardrail_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchReadOnlyAccess")
            ],
        )
        channel.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"],
                resources=["*"],
            )
        )
        nag.accept(
            channel,
            "IAM5",
            "Chatbot renders an alarm's graph with cloudwatch:GetMetricData, which supports no "
            "resource-level permissions; DescribeAlarms is read-only.",
            applies_to=["Resource::*"],
        )
