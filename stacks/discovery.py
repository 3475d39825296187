"""Service discovery: SSM parameters ``/serverless-blueprint/<env>/<service>/<name>``.

Other systems (and scripts) find a resource by a stable name instead of a CloudFormation export,
which would pin the producing stack.
"""

from __future__ import annotations

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration


def publish(
    scope: Construct,
    environment: EnvironmentDeclaration,
    service: str,
    values: dict[str, str],
) -> None:
    """One String parameter per name under the service's path."""
    for name, value in values.items():
        ssm.StringParameter(
            scope,
            f"Parameter{service.title()}{''.join(p.title() for p in name.split('-'))}",
            parameter_name=environment.parameter_name(service, name),
            string_value=value,
        )
