"""Rotating the origin-verify secret against the emulator's Secrets Manager and CloudFront."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from libs import origin_check
from libs.origin_check import OriginCheck, SecretsClients
from services.origin_secret_rotation import rotation
from services.origin_secret_rotation.handler import RotationClients
from tests.system_under_test import SystemUnderTest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator("makes a CloudFront distribution of its own"),
]

FIRST_VALUE = "first-value-0123456789-abcdefghijklmnopqrstu"


@dataclass
class Edge:
    """A secret shared by a distribution's origin header and the API, as in prod."""

    clients: RotationClients
    secret_id: str
    distribution_id: str

    async def header_sent(self) -> str:
        cloudfront = await self.clients.cloudfront()
        config = (await cloudfront.get_distribution_config(Id=self.distribution_id))[
            "DistributionConfig"
        ]
        (header,) = config["Origins"]["Items"][0]["CustomHeaders"]["Items"]
        value: str = header["HeaderValue"]
        return value

    async def value(self, stage: str) -> str:
        secrets = await self.clients.secretsmanager()
        found = await secrets.get_secret_value(SecretId=self.secret_id, VersionStage=stage)
        value: str = found["SecretString"]
        return value

    async def rotate(self) -> str:
        """What Secrets Manager does on a rotation: the four steps with a new version's token."""
        token = str(uuid.uuid4())
        secrets = await self.clients.secretsmanager()
        cloudfront = await self.clients.cloudfront()
        await rotation.create_secret(secrets, self.secret_id, token)
        await rotation.set_secret(secrets, self.secret_id, token)
        await rotation.test_secret(secrets, self.secret_id, token)
        await rotation.finish_secret(
            secrets, cloudfront, self.secret_id, token, self.distribution_id
        )
        return token


@pytest.fixture
async def edge(stack: SystemUnderTest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Edge]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack.outputs.region)
    clients = RotationClients()
    secrets = await clients.secretsmanager()
    name = f"origin-verify-{uuid.uuid4().hex[:8]}"
    secret = await secrets.create_secret(Name=name, SecretString=FIRST_VALUE)
    cloudfront = await clients.cloudfront()
    distribution = await cloudfront.create_distribution(DistributionConfig=_distribution(name))
    yield Edge(clients, secret["ARN"], distribution["Distribution"]["Id"])
    await secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    await clients.close()


async def test_a_rotation_makes_a_new_value_current_then_cloudfront_sends_it(edge: Edge) -> None:
    # Given CloudFront sending the first value
    assert await edge.header_sent() == FIRST_VALUE
    # When the secret rotates
    await edge.rotate()
    # Then a new, header-safe value is current, the first one is previous, and CloudFront sends
    # the new one
    current = await edge.value("AWSCURRENT")
    assert current != FIRST_VALUE
    assert len(current) >= 40
    assert await edge.value("AWSPREVIOUS") == FIRST_VALUE
    assert await edge.header_sent() == current


async def test_each_step_can_run_again_after_a_failure(edge: Edge) -> None:
    # Given a finished rotation
    token = await edge.rotate()
    current = await edge.value("AWSCURRENT")
    secrets = await edge.clients.secretsmanager()
    cloudfront = await edge.clients.cloudfront()
    # When Secrets Manager calls its steps again with the same token
    await rotation.create_secret(secrets, edge.secret_id, token)
    await rotation.finish_secret(secrets, cloudfront, edge.secret_id, token, edge.distribution_id)
    # Then nothing moves: same current value, CloudFront left as it is
    assert await edge.value("AWSCURRENT") == current
    assert not await rotation.send_from_cloudfront(cloudfront, edge.distribution_id, current)


async def test_the_api_admits_the_previous_value_only_during_the_overlap(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rotation that just happened: some edges still send the first value
    await edge.rotate()
    current = await edge.value("AWSCURRENT")
    reader = SecretsClients()
    check = OriginCheck(edge.secret_id, reader.admitted_values)
    # Then the API admits both values, and nothing else
    assert await check.admits({"x-origin-verify": current})
    assert await check.admits({"x-origin-verify": FIRST_VALUE})
    assert not await check.admits({"x-origin-verify": "guess"})
    # When the overlap is over (here: none at all), Then only the current value passes
    monkeypatch.setattr(origin_check, "ADMIT_PREVIOUS_FOR", timedelta(0))
    later = OriginCheck(edge.secret_id, reader.admitted_values)
    assert await later.admits({"x-origin-verify": current})
    assert not await later.admits({"x-origin-verify": FIRST_VALUE})
    await reader.close()


def _distribution(reference: str) -> dict[str, Any]:
    return {
        "CallerReference": reference,
        "Comment": "origin-verify rotation test",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "api",
                    "DomainName": "abc123.execute-api.us-east-1.amazonaws.com",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                    },
                    "CustomHeaders": {
                        "Quantity": 1,
                        "Items": [{"HeaderName": "X-Origin-Verify", "HeaderValue": FIRST_VALUE}],
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "api",
            "ViewerProtocolPolicy": "https-only",
            "MinTTL": 0,
        },
    }
