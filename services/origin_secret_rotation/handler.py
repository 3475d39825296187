"""Rotation function of the origin-verify secret: Secrets Manager calls it once per step."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

import os
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from libs.aws_clients import AwsClients
from libs.container_loop import ContainerLoop
from libs.init_phase import end_init
from services.origin_secret_rotation import rotation

SERVICE: Final = "origin-secret-rotation"
# The distribution whose origin sends the header (set by the API stack).
DISTRIBUTION_ID: Final = "ORIGIN_DISTRIBUTION_ID"

logger = Logger(service=SERVICE)


class RotationClients(AwsClients):
    """The container's clients: Secrets Manager's and CloudFront's."""

    async def secretsmanager(self) -> Any:
        """The Secrets Manager client."""
        return await self._client("secretsmanager")

    async def cloudfront(self) -> Any:
        """The CloudFront client."""
        return await self._client("cloudfront")


clients = RotationClients()
loop = ContainerLoop()


async def rotate(event: dict[str, Any]) -> None:
    """Run the step Secrets Manager asks for."""
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    logger.info("rotation step", extra={"step": step, "version": token})
    secrets = await clients.secretsmanager()
    if step == "createSecret":
        await rotation.create_secret(secrets, secret_id, token)
    elif step == "setSecret":
        await rotation.set_secret(secrets, secret_id, token)
    elif step == "testSecret":
        await rotation.test_secret(secrets, secret_id, token)
    elif step == "finishSecret":
        cloudfront = await clients.cloudfront()
        await rotation.finish_secret(
            secrets, cloudfront, secret_id, token, os.environ[DISTRIBUTION_ID]
        )
    else:
        raise rotation.RotationError(f"unknown rotation step {step!r}")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Lambda's entrypoint."""
    end_init()
    loop.run(rotate(event))
