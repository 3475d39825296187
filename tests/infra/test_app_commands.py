"""``python -m stacks outputs``: a deploy's outputs in the emulator's outputs-file keys."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from libs.stack_outputs import StackOutputs
from stacks.__main__ import write_outputs

DEPLOYED = {
    "serverless-blueprint-dev-api": {"ApiUrl": "https://abc.execute-api", "Region": "us-east-1"},
    "serverless-blueprint-dev-cognito": {
        "UserPoolId": "us-east-1_x",
        "UserPoolClientId": "client",
        "ExportsOutputRefUserPool": "us-east-1_x",
    },
    "serverless-blueprint-dev-database": {"TableName": "table"},
    "serverless-blueprint-dev-events": {"EventBusName": "bus"},
}


def test_cdk_outputs_flatten_into_the_emulators_keys(tmp_path: Path) -> None:
    # Given what `cdk deploy --outputs-file` wrote, per stack
    deployed = tmp_path / "cdk-outputs.json"
    deployed.write_text(json.dumps(DEPLOYED))
    # When it is converted
    write_outputs(deployed, tmp_path / "outputs.json")
    # Then the file reads back as the emulator's outputs, pointing at AWS itself
    outputs = msgspec.json.decode((tmp_path / "outputs.json").read_bytes(), type=StackOutputs)
    assert outputs.api_url == "https://abc.execute-api"
    assert outputs.table_name == "table"
    assert outputs.aws_endpoint_url == ""


def test_a_missing_output_is_an_error(tmp_path: Path) -> None:
    partial = {key: value for key, value in DEPLOYED.items() if not key.endswith("events")}
    deployed = tmp_path / "cdk-outputs.json"
    deployed.write_text(json.dumps(partial))
    with pytest.raises(msgspec.ValidationError, match="EventBusName"):
        write_outputs(deployed, tmp_path / "outputs.json")
