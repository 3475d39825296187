"""The deployed environments: sizing, retention, throttling, data safety and cost, per environment.

The CDK app reads one of these (``--context env=dev|prod``); nothing in ``stacks/`` restates a
number that differs between environments.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from libs.resources.functions import FunctionDeclaration

PROJECT = "serverless-blueprint"

EnvironmentName = Literal["dev", "prod"]


class FunctionSizing(msgspec.Struct, frozen=True):
    """An environment's overrides for one function; None keeps the declared default."""

    memory_mb: int | None = None
    timeout_seconds: int | None = None
    # Instances kept initialised on the ``live`` alias: no cold start for that many at once.
    provisioned_concurrency: int = 0


class SlackChannel(msgspec.Struct, frozen=True):
    """A Slack channel AWS Chatbot posts alarms to (the workspace is authorized once, by hand,
    in the AWS Chatbot console; its id is shown there)."""

    workspace_id: str
    channel_id: str


class AlarmRecipients(msgspec.Struct, frozen=True, kw_only=True):
    """Who hears about an environment's alarms: email addresses and, optionally, Slack."""

    emails: tuple[str, ...] = ()
    slack: SlackChannel | None = None

    @property
    def anyone(self) -> bool:
        """Whether an alarm reaches at least one person."""
        return bool(self.emails) or self.slack is not None


class EnvironmentDeclaration(msgspec.Struct, frozen=True, kw_only=True):
    """One deployment of the whole system."""

    name: EnvironmentName
    log_retention_days: int
    # HTTP API stage throttling: steady requests per second and burst, for every route.
    throttle_rate_per_second: int
    throttle_burst: int
    cors_origins: tuple[str, ...]
    # AWS WAF: requests one IP may send in 5 minutes (user pool, and CloudFront where present).
    waf_rate_limit: int
    monthly_budget_usd: int
    budget_alert_percents: tuple[int, ...] = (80, 100)
    functions: dict[str, FunctionSizing] = msgspec.field(default_factory=dict)
    # Data safety: deletion protection and RETAIN on the table and keys.
    retain_data: bool
    contributor_insights: bool
    # CodeDeploy canary on every function's alias, rolled back by the function's alarms.
    canary_deployments: bool
    # CloudFront + AWS WAF in front of the HTTP API (WAF cannot attach to an HTTP API itself).
    edge_protection: bool
    # Cognito threat protection (Plus feature plan) in ENFORCED mode, else AUDIT.
    enforce_threat_protection: bool
    # Whether this environment's critical alarms page someone (synth warns without a recipient).
    pages: bool = False
    alarm_recipients: AlarmRecipients = AlarmRecipients()
    # The SES-verified address notifications are sent from (its domain is the SES identity).
    notification_sender: str
    # The table's customer-managed key needs a region at synth; CloudFront's web ACL needs
    # us-east-1 wherever edge protection is on. None: the deploying credentials' account.
    region: str = "us-east-1"
    account: str | None = None

    def sizing(self, function: FunctionDeclaration) -> FunctionSizing:
        """The function's memory, timeout and provisioned concurrency here."""
        override = self.functions.get(function.service, FunctionSizing())
        return FunctionSizing(
            memory_mb=override.memory_mb or function.memory_mb,
            timeout_seconds=override.timeout_seconds or function.timeout_seconds,
            provisioned_concurrency=override.provisioned_concurrency,
        )

    def parameter_name(self, service: str, name: str) -> str:
        """The SSM parameter a service publishes for discovery."""
        return f"/{PROJECT}/{self.name}/{service}/{name}"

    @property
    def stack_prefix(self) -> str:
        """Prefix of every stack name, e.g. ``serverless-blueprint-dev``."""
        return f"{PROJECT}-{self.name}"


ENVIRONMENTS: dict[str, EnvironmentDeclaration] = {
    "dev": EnvironmentDeclaration(
        name="dev",
        log_retention_days=30,
        throttle_rate_per_second=50,
        throttle_burst=100,
        cors_origins=("http://localhost:3000", "http://localhost:5173"),
        waf_rate_limit=1000,
        monthly_budget_usd=50,
        retain_data=False,
        contributor_insights=False,
        canary_deployments=False,
        edge_protection=False,
        enforce_threat_protection=False,
        notification_sender="no-reply@dev.example.com",
    ),
    "prod": EnvironmentDeclaration(
        name="prod",
        log_retention_days=90,
        throttle_rate_per_second=500,
        throttle_burst=1000,
        cors_origins=("https://app.example.com",),
        waf_rate_limit=2000,
        monthly_budget_usd=500,
        functions={
            # The hot paths: browsing the catalog and placing orders never wait on a cold start.
            "products": FunctionSizing(provisioned_concurrency=2),
            "orders": FunctionSizing(memory_mb=1536, provisioned_concurrency=2),
        },
        retain_data=True,
        contributor_insights=True,
        canary_deployments=True,
        edge_protection=True,
        enforce_threat_protection=True,
        pages=True,
        # Replace with your on-call address (and, if you use it, your Slack channel): each
        # address gets a subscription confirmation email from SNS on the first deploy.
        alarm_recipients=AlarmRecipients(emails=("oncall@example.com",)),
        notification_sender="no-reply@example.com",
    ),
}
