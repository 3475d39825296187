"""Security stack: the customer-managed KMS keys and the AWS WAF web ACLs.

Three keys: the table's (DynamoDB uses it for the functions), the queues' and topics', and the
personal-fields key (``PiiKey``), the one functions call themselves: its data keys seal the
personal fields of user profiles (``libs/sealed_fields.py``).

WAF decision. AWS WAF cannot be associated with an API Gateway HTTP API. The seed's WAF
requirement is met in two places instead:
- the Cognito user pool gets a regional web ACL (rate limit per IP, AWS managed common and
  known-bad-input rules): sign-up and password guessing are where abuse goes first;
- in environments with ``edge_protection`` (prod) CloudFront fronts the API with a CLOUDFRONT web
  ACL (same rules, rate limit per IP); CloudFront proves itself to the origin with a secret header
  kept in Secrets Manager (``origin_secret``). A CLOUDFRONT web ACL only exists in us-east-1, so
  such an environment is declared in us-east-1.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration
from libs.resources.keys import PII_KEY

# Service principals that write into queues and topics encrypted with the messaging key.
_MESSAGING_SERVICES = ("events.amazonaws.com", "cloudwatch.amazonaws.com", "budgets.amazonaws.com")


class SecurityStack(Stack):
    """KMS keys for data and messaging, WAF web ACLs, the CloudFront origin secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"{environment.stack_prefix}: the main table and its stream",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30 if environment.retain_data else 7),
        )
        self.messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"{environment.stack_prefix}: SQS queues and SNS topics",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30 if environment.retain_data else 7),
        )
        # Its own key, so its use is audited apart and granted only to the functions that seal
        # or open personal fields; yearly rotation keeps the old material for old data keys.
        self.pii_key = kms.Key(
            self,
            PII_KEY.logical_id,
            description=f"{environment.stack_prefix}: {PII_KEY.description}",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30 if environment.retain_data else 7),
        )
        CfnOutput(self, "PiiKeyArn", value=self.pii_key.key_arn)
        for service in _MESSAGING_SERVICES:
            # Key policies are the one place a "*" resource means "this key".
            self.messaging_key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                )
            )
        self.user_pool_acl = _web_acl(
            self, "UserPoolAcl", scope_name="REGIONAL", rate_limit=environment.waf_rate_limit
        )
        self.edge_acl: wafv2.CfnWebACL | None = None
        self.origin_secret: secretsmanager.Secret | None = None
        if environment.edge_protection:
            self.edge_acl = _web_acl(
                self, "EdgeAcl", scope_name="CLOUDFRONT", rate_limit=environment.waf_rate_limit
            )
            self.origin_secret = secretsmanager.Secret(
                self,
                "OriginSecret",
                description="Header value CloudFront adds so the API can tell it from others",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=40
                ),
                removal_policy=removal,
            )
            # Rotated by the API stack's OriginSecretRotation, beside the distribution it updates.


def _web_acl(
    scope: Construct, construct_id: str, *, scope_name: str, rate_limit: int
) -> wafv2.CfnWebACL:
    def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=name
                )
            ),
            visibility_config=_visibility(name),
        )

    return wafv2.CfnWebACL(
        scope,
        construct_id,
        scope=scope_name,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(construct_id),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_visibility("RatePerIp"),
            ),
            managed(1, "AWSManagedRulesAmazonIpReputationList"),
            managed(2, "AWSManagedRulesCommonRuleSet"),
            managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
        ],
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
