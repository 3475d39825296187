"""Pipeline stack: CDK Pipelines, self-mutating, from GitHub, dev then prod after an approval.

The synth step runs the project's own checks (``just test``: lint, types, unit, integration, e2e
and these stacks' assertion tests) before it synthesizes, so nothing untested is deployed.
Deploy it once with ``just deploy-pipeline <owner/name> <connection arn>`` (docs/deploy.md);
from then on a push to the branch updates the pipeline itself, then dev, then runs the smoke
tests (``pytest -m smoke``, the same ones a person runs with ``just smoke dev``) against dev, and
only then, after an approval, prod.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aws_cdk import Aspects, Environment, Stack, Stage, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from libs.resources.environments import ENVIRONMENTS, PROJECT, EnvironmentDeclaration
from libs.stack_outputs import stage_outputs
from stacks import nag
from stacks.bundling import FunctionBundler
from stacks.system import add_system


class PipelineSource(msgspec.Struct, frozen=True):
    """Where the pipeline takes the code from (given at deploy time as context)."""

    repository: str  # owner/name on GitHub
    branch: str = "main"


class SystemStage(Stage):
    """Every stack of one environment, as a pipeline deploys it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        bundler: FunctionBundler,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.system = add_system(self, environment, bundler)
        # The app's aspects stop at a stage's boundary: check the stage's stacks here.
        Aspects.of(self).add(AwsSolutionsChecks(verbose=True))


class PipelineStack(Stack):
    """The delivery pipeline of the whole system."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        connection_arn: str,
        source: PipelineSource,
        bundler: FunctionBundler,
        stage_env: dict[str, Environment],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = pipelines.CodePipelineSource.connection(
            source.repository, source.branch, connection_arn=connection_arn
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=PROJECT,
            pipeline_type=codepipeline.PipelineType.V2,
            self_mutation=True,
            cross_account_keys=True,  # a KMS key on the artifact bucket (S3 and rotation rules)
            enable_key_rotation=True,
            synth=pipelines.ShellStep(
                "Synth",
                input=code,
                install_commands=["python3 -m pip install --quiet uv"],
                commands=[
                    "uv run just test",
                    "uv run python -m stacks synth --context env=pipeline "
                    f"--context github_connection_arn={connection_arn} "
                    f"--context github_repository={source.repository} "
                    f"--context github_branch={source.branch}",
                ],
                primary_output_directory="cdk.out",
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.MEDIUM,
                )
            ),
        )
        dev = SystemStage(
            self, "Dev", environment=ENVIRONMENTS["dev"], bundler=bundler, env=stage_env["dev"]
        )
        self.pipeline.add_stage(dev, post=[self._smoke_tests(code, dev, stage_env["dev"])])
        self.pipeline.add_stage(
            SystemStage(
                self,
                "Prod",
                environment=ENVIRONMENTS["prod"],
                bundler=bundler,
                env=stage_env["prod"],
            ),
            pre=[pipelines.ManualApprovalStep("PromoteToProd")],
        )
        self.pipeline.build_pipeline()
        for rule, reason in PIPELINE_EXCEPTIONS.items():
            nag.accept(self, rule, reason)

    def _smoke_tests(
        self, code: pipelines.IFileSetProducer, stage: SystemStage, env: Environment
    ) -> pipelines.CodeBuildStep:
        """The suite's smoke subset against the stage just deployed, before anyone approves."""
        region = env.region or self.region
        return pipelines.CodeBuildStep(
            "SmokeTests",
            input=code,
            env_from_cfn_outputs=dict(stage.system.outputs()),
            install_commands=["python3 -m pip install --quiet uv"],
            commands=[
                f"uv run python -m stacks outputs-from-env {SMOKE_OUTPUTS}",
                f"EMULATOR=aws STACK_OUTPUTS={SMOKE_OUTPUTS} uv run pytest -m smoke",
            ],
            role_policy_statements=[
                # The tests make their own users (and delete them) through Cognito's admin API.
                iam.PolicyStatement(
                    actions=[f"cognito-idp:{action}" for action in SMOKE_COGNITO_ACTIONS],
                    resources=[
                        f"arn:{self.partition}:cognito-idp:{region}:{self.account}:userpool/*"
                    ],
                )
            ],
        )


SMOKE_OUTPUTS = str(stage_outputs("dev"))
SMOKE_COGNITO_ACTIONS = (
    "AdminCreateUser",
    "AdminSetUserPassword",
    "AdminAddUserToGroup",
    "AdminDeleteUser",
    "ListUsers",
)

# CDK Pipelines builds its own roles, buckets and projects; these are its known trade-offs.
PIPELINE_EXCEPTIONS = {
    "IAM5": (
        "CDK Pipelines grants its CodeBuild and CodePipeline roles wildcards on its own artifact "
        "bucket objects, log streams and the bootstrap roles (cdk-*), which it names itself. "
        "The smoke tests' step may manage users in the dev account's pools (userpool/*): the "
        "pool's id is only known once the stage is deployed, after the pipeline is built."
    ),
    "S1": "The artifact bucket is written by CodePipeline only; its access is in CloudTrail.",
}
