"""What a stack reports once it runs (a deployed stage or the local one), and where it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import msgspec

# Written by `just dev`, read by the operator tools and the load tests.
LOCAL_OUTPUTS: Final = Path(".local/outputs.json")


def stage_outputs(environment: str) -> Path:
    """Where `just deploy <environment>` writes that stage's outputs."""
    return Path(f".local/outputs-{environment}.json")


class StackOutputs(msgspec.Struct, frozen=True, rename="pascal", omit_defaults=True):
    """What a deployed stack reports; encodes to the keys of the CDK outputs (``ApiUrl``, ...)."""

    api_url: str
    user_pool_id: str
    user_pool_client_id: str
    table_name: str
    event_bus_name: str
    region: str
    aws_endpoint_url: str
    # Appended to every declared name when several stacks share one endpoint (the test suite
    # next to a running `just dev`); empty, and left out of the file, for the declared names.
    name_suffix: str = ""
    # The key whose data keys seal personal fields (the security stack's output in AWS).
    pii_key_arn: str = ""
    # The CA bundle that verifies an HTTPS emulator (`just dev --tls`); empty for AWS itself
    # and for a plain HTTP emulator.
    aws_ca_bundle: str = ""


def client_options(outputs: StackOutputs) -> dict[str, Any]:
    """What an aiobotocore client of the stack needs: endpoint, region, and its CA if any."""
    options: dict[str, Any] = {
        "endpoint_url": outputs.aws_endpoint_url or None,
        "region_name": outputs.region,
    }
    if outputs.aws_ca_bundle:
        options["verify"] = outputs.aws_ca_bundle
    return options
