"""The CDK app: every stack of one environment, or the pipeline that deploys dev then prod."""

from __future__ import annotations

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from libs.resources.environments import ENVIRONMENTS, PROJECT
from stacks.bundling import FunctionBundler
from stacks.pipeline import PipelineSource, PipelineStack
from stacks.system import add_system, environment_of

# Chosen explicitly so that a CDK upgrade cannot change them silently.
FEATURE_FLAGS = {"@aws-cdk/core:defaultCrossStackReferences": "strong"}
# What the CDK CLI turns on unless told otherwise, so that the templates the pipeline deploys
# (synthesized without the CLI) are those of `cdk deploy`: each resource names its construct path,
# which CloudFormation's console shows, and by which cfn-lint knows a template is generated.
CLI_DEFAULTS = {"aws:cdk:enable-path-metadata": True}


def build_app(
    context: dict[str, str] | None = None,
    outdir: str | None = None,
    bundler: FunctionBundler | None = None,
) -> App:
    """The app for ``--context env=<name>`` (dev when absent), checked by cdk-nag.

    Without arguments, context and output directory come from the CDK CLI's environment.
    """
    app = App(context=context, outdir=outdir)
    for flag, value in {**FEATURE_FLAGS, **CLI_DEFAULTS}.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    name = app.node.try_get_context("env") or "dev"
    bundler = bundler or FunctionBundler()
    if name == "pipeline":
        connection_arn = app.node.try_get_context("github_connection_arn")
        repository = app.node.try_get_context("github_repository")
        if not connection_arn or not repository:
            raise ValueError(
                "the pipeline needs --context github_connection_arn=<arn> "
                "--context github_repository=<owner/name>"
            )
        PipelineStack(
            app,
            "Pipeline",
            stack_name=f"{PROJECT}-pipeline",
            connection_arn=connection_arn,
            source=PipelineSource(
                repository=repository,
                branch=app.node.try_get_context("github_branch") or "main",
            ),
            bundler=bundler,
            env=environment_of(ENVIRONMENTS["prod"]),
            stage_env={key: environment_of(value) for key, value in ENVIRONMENTS.items()},
        )
    elif name in ENVIRONMENTS:
        environment = ENVIRONMENTS[name]
        add_system(app, environment, bundler, environment_of(environment))
    else:
        raise ValueError(f"unknown environment {name!r}: pipeline or {sorted(ENVIRONMENTS)}")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app
