"""The four steps Secrets Manager calls a rotation function with, for the origin-verify secret.

The value is CloudFront's and the API's at once, so the order matters: the new value becomes
current first (the functions then admit it, and the previous one for ``ADMIT_PREVIOUS_FOR``),
and only then is CloudFront told to send it. Every step can run again after a failure.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final

from libs.origin_check import HEADER

PENDING: Final = "AWSPENDING"
CURRENT: Final = "AWSCURRENT"
# Header-safe and long enough not to be guessed: 40 characters of [A-Za-z0-9_-].
_VALUE = re.compile(r"^[A-Za-z0-9_-]{40,}$")


class RotationError(Exception):
    """A rotation step cannot go on; Secrets Manager marks the rotation failed."""


def new_value() -> str:
    """A fresh header value."""
    return secrets.token_urlsafe(30)


async def create_secret(client: Any, secret_id: str, token: str) -> None:
    """Store a new value as the pending version ``token`` (unless it is stored already)."""
    if CURRENT in await _stages_of(client, secret_id, token):
        return  # this version was already made current
    try:
        await client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except client.exceptions.ResourceNotFoundException:
        await client.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=new_value(),
            VersionStages=[PENDING],
        )


async def set_secret(client: Any, secret_id: str, token: str) -> None:
    """Nothing to set yet: CloudFront gets the value once it is current (``finish_secret``)."""
    if not await _stages_of(client, secret_id, token):
        raise RotationError(f"version {token} of {secret_id} was never created")


async def test_secret(client: Any, secret_id: str, token: str) -> None:
    """The pending value is one CloudFront can send and nobody can guess."""
    value = (
        await client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    )["SecretString"]
    if not _VALUE.match(value):
        raise RotationError("the pending value is not a 40-character header-safe token")


async def finish_secret(
    client: Any, cloudfront: Any, secret_id: str, token: str, distribution_id: str
) -> None:
    """Make version ``token`` current, then have CloudFront send the current value."""
    described = await client.describe_secret(SecretId=secret_id)
    current = next(
        version for version, stages in described["VersionIdsToStages"].items() if CURRENT in stages
    )
    if current != token:
        await client.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage=CURRENT,
            MoveToVersionId=token,
            RemoveFromVersionId=current,
        )
    value = (await client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT))[
        "SecretString"
    ]
    await send_from_cloudfront(cloudfront, distribution_id, value)


async def send_from_cloudfront(cloudfront: Any, distribution_id: str, value: str) -> bool:
    """Set the header on every origin of the distribution that sends it; whether it changed."""
    found = await cloudfront.get_distribution_config(Id=distribution_id)
    config = found["DistributionConfig"]
    changed = False
    for origin in config["Origins"]["Items"]:
        for header in origin.get("CustomHeaders", {}).get("Items", []):
            if header["HeaderName"].lower() == HEADER and header["HeaderValue"] != value:
                header["HeaderValue"] = value
                changed = True
    if changed:
        await cloudfront.update_distribution(
            Id=distribution_id, IfMatch=found["ETag"], DistributionConfig=config
        )
    return changed


async def _stages_of(client: Any, secret_id: str, token: str) -> list[str]:
    """The stages of version ``token`` (none before ``create_secret`` stored it)."""
    described = await client.describe_secret(SecretId=secret_id)
    versions: dict[str, list[str]] = described.get("VersionIdsToStages", {})
    return versions.get(token, [])
