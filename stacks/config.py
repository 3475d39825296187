"""Config stack: AWS AppConfig feature flags, per environment, validated at synth.

The flag values come from ``libs/resources/feature_flags.py`` and are checked against their
declared limits before any template is written. Prod rolls a change out to 20% of callers every
few minutes and bakes it for ten; dev applies it at once. Functions that declare
``appconfigdata`` access read the profile through ``libs/flag_client.py`` (the functions stack
grants them this profile and passes its identifiers), so this stack deploys before them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_appconfig as appconfig
from constructs import Construct

from libs.resources.environments import PROJECT, EnvironmentDeclaration
from libs.resources.feature_flags import FLAGS_BY_ENVIRONMENT, appconfig_document

FLAGS_PROFILE = "feature-flags"


@dataclass(frozen=True)
class FlagsProfile:
    """Where the functions read their feature flags: AppConfig's three identifiers."""

    application_id: str
    environment_id: str
    profile_id: str

    def arn(self, stack: Stack) -> str:
        """The profile's ARN in this environment (what StartConfigurationSession authorizes)."""
        return stack.format_arn(
            service="appconfig",
            resource="application",
            resource_name=(
                f"{self.application_id}/environment/{self.environment_id}"
                f"/configuration/{self.profile_id}"
            ),
        )


class ConfigStack(Stack):
    """The AppConfig application, this environment and its feature-flag profile."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        document = appconfig_document(FLAGS_BY_ENVIRONMENT[environment.name])  # raises if invalid
        self.application = appconfig.Application(
            self, "Application", application_name=f"{PROJECT}-{environment.name}"
        )
        self.appconfig_environment = appconfig.Environment(
            self,
            "Environment",
            application=self.application,
            environment_name=environment.name,
        )
        strategy = appconfig.DeploymentStrategy(
            self,
            "Rollout",
            rollout_strategy=(
                appconfig.RolloutStrategy.linear(
                    growth_factor=20,
                    deployment_duration=Duration.minutes(10),
                    final_bake_time=Duration.minutes(10),
                )
                if environment.canary_deployments
                else appconfig.RolloutStrategy.ALL_AT_ONCE
            ),
        )
        self.flags = appconfig.HostedConfiguration(
            self,
            "FeatureFlags",
            application=self.application,
            name=FLAGS_PROFILE,
            type=appconfig.ConfigurationType.FEATURE_FLAGS,
            content=appconfig.ConfigurationContent.from_inline_json(json.dumps(document)),
            deployment_strategy=strategy,
            deploy_to=[self.appconfig_environment],
        )
        self.flags_profile = FlagsProfile(
            application_id=self.application.application_id,
            environment_id=self.appconfig_environment.environment_id,
            profile_id=self.flags.configuration_profile_id,
        )
