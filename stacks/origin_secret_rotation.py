"""The origin-verify secret's rotation: a function Secrets Manager calls on a schedule.

The secret lives in the security stack and CloudFront's distribution in the API stack; the
rotation sits beside the distribution it updates, so neither stack has to know the other's
resources beyond the secret's ARN. What each step does: ``services/origin_secret_rotation``.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from libs.origin_check import ROTATE_EVERY
from libs.resources.environments import EnvironmentDeclaration
from libs.resources.functions import ORIGIN_SECRET_ROTATION
from services.origin_secret_rotation.handler import DISTRIBUTION_ID
from stacks import nag
from stacks.bundling import ARCHITECTURE, RUNTIME, FunctionBundler
from stacks.functions import retention


class OriginSecretRotation(Construct):
    """Rotates ``secret`` every ``ROTATE_EVERY``, then points ``distribution`` at the new value."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        secret: secretsmanager.ISecret,
        distribution: cloudfront.Distribution,
        bundler: FunctionBundler,
    ) -> None:
        super().__init__(scope, construct_id)
        declaration = ORIGIN_SECRET_ROTATION
        assert declaration.memory_mb is not None
        log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(environment.log_retention_days),
            removal_policy=(
                RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
            ),
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="origin-secret rotation: this secret and this distribution only",
        )
        log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(declaration.actions_on("secretsmanager")),
                resources=[secret.secret_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(declaration.actions_on("cloudfront")),
                resources=[distribution.distribution_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=declaration.handler,
            code=bundler.code(declaration),
            memory_size=declaration.memory_mb,
            timeout=Duration.seconds(declaration.timeout_seconds),
            role=role,
            log_group=log_group,
            environment={
                DISTRIBUTION_ID: distribution.distribution_id,
                "POWERTOOLS_SERVICE_NAME": declaration.service,
            },
            description=f"{environment.stack_prefix} {declaration.service}",
        )
        nag.accept(
            self.function,
            "L1",
            f"{RUNTIME.name} is the declared target: the bundle's wheels are built for it.",
        )
        # CloudFormation's schedule, not CDK's RotationSchedule: that one also grants
        # GetRandomPassword on "*", which this function never calls.
        invoke = lambda_.CfnPermission(
            self,
            "SecretsManagerInvokes",
            action="lambda:InvokeFunction",
            function_name=self.function.function_arn,
            principal="secretsmanager.amazonaws.com",
            source_account=Stack.of(self).account,
        )
        self.schedule = secretsmanager.CfnRotationSchedule(
            self,
            "Schedule",
            secret_id=secret.secret_arn,
            rotation_lambda_arn=self.function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                schedule_expression=f"rate({ROTATE_EVERY.days} days)"
            ),
        )
        self.schedule.add_dependency(invoke)
