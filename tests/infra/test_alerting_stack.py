"""Alerting stack: every declared recipient hears both topics; a paging stage without one warns."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from aws_cdk import App, Aspects, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from libs.resources.environments import (
    ENVIRONMENTS,
    AlarmRecipients,
    EnvironmentDeclaration,
    SlackChannel,
)
from stacks.alerting import AlertingStack
from tests.infra.conftest import Synthesized


def alerting_of(environment: EnvironmentDeclaration) -> AlertingStack:
    """The alerting stack alone, with cdk-nag's checks, for an environment made up by a test."""
    app = App()
    keys = Stack(app, "Keys")
    stack = AlertingStack(
        app, "Alerting", environment=environment, messaging_key=kms.Key(keys, "Key")
    )
    Aspects.of(stack).add(AwsSolutionsChecks())
    app.synth()
    return stack


def test_prod_subscribes_each_declared_email_to_both_topics(prod: Synthesized) -> None:
    emails = ENVIRONMENTS["prod"].alarm_recipients.emails
    assert emails, "prod pages: it declares who is paged"
    subscriptions = [
        s["Properties"]
        for s in prod.resources("AWS::SNS::Subscription", "Alerting").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    topics = prod.resources("AWS::SNS::Topic", "Alerting")
    assert len(topics) == 2
    assert sorted((s["Endpoint"], s["TopicArn"]["Ref"]) for s in subscriptions) == sorted(
        (email, topic) for email in emails for topic in topics
    )


def test_no_synth_warning_where_a_paging_stage_has_recipients(prod: Synthesized) -> None:
    assert not [f for f in prod.findings() if "no-alarm-recipient" in f]


def test_a_paging_stage_without_a_recipient_warns_at_synth() -> None:
    # Given prod with its recipients taken away
    environment = msgspec.structs.replace(ENVIRONMENTS["prod"], alarm_recipients=AlarmRecipients())
    # When it is synthesized, Then synth warns and names the declaration to fix
    stack = alerting_of(environment)
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("declares no recipient.*environments.py")
    )


def test_a_stage_that_does_not_page_may_have_no_recipient() -> None:
    stack = alerting_of(ENVIRONMENTS["dev"])
    warnings: list[Any] = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("declares no recipient")
    )
    assert warnings == []


def test_a_declared_slack_channel_hears_both_topics_and_passes_cdk_nag() -> None:
    # Given a stage that also posts alarms to Slack
    slack = SlackChannel(workspace_id="T0123ABCD", channel_id="C0123ABCD")
    environment = msgspec.structs.replace(
        ENVIRONMENTS["prod"],
        alarm_recipients=AlarmRecipients(emails=("oncall@example.com",), slack=slack),
    )
    # When it is synthesized
    stack = alerting_of(environment)
    template = Template.from_stack(stack)
    # Then one Chatbot channel configuration lists both topics
    (channel,) = template.find_resources("AWS::Chatbot::SlackChannelConfiguration").values()
    properties = channel["Properties"]
    assert properties["SlackWorkspaceId"] == slack.workspace_id
    assert properties["SlackChannelId"] == slack.channel_id
    assert len(properties["SnsTopicArns"]) == 2
    # And cdk-nag finds nothing unaccounted for
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions"))
    assert errors == [], json.dumps(errors, indent=1)
