"""`just dlq` finds the queues under the names the stack gave them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from libs.resources.events import CONSUMER_QUEUES
from libs.resources.naming import named_queue
from libs.stack_outputs import StackOutputs
from ops.dlq import name_suffix


def outputs_file(path: Path, suffix: str) -> Path:
    outputs = StackOutputs(
        api_url="https://api.example",
        user_pool_id="eu-west-1_x",
        user_pool_client_id="c",
        table_name="t",
        event_bus_name="b",
        region="eu-west-1",
        aws_endpoint_url="",
        name_suffix=suffix,
    )
    path.write_bytes(msgspec.json.encode(outputs))
    return path


def test_a_deployed_stage_without_an_outputs_file_is_named_by_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no outputs file of the prod stage in the working directory
    monkeypatch.chdir(tmp_path)
    # When the queues of prod are looked up in AWS
    suffix = name_suffix(use_aws=True, outputs_path=tmp_path / "unused.json", env="prod")
    # Then their names end in the environment, as the events stack names them
    queue = named_queue(CONSUMER_QUEUES[0], suffix)
    assert queue.name == f"{CONSUMER_QUEUES[0].name}-prod"
    assert queue.dead_letter.name == f"{CONSUMER_QUEUES[0].dead_letter.name}-prod"


def test_a_deployed_stage_is_named_by_its_outputs_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the outputs file `just deploy` wrote for staging
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".local").mkdir()
    outputs_file(tmp_path / ".local" / "outputs-staging.json", "staging")
    # Then the suffix is the one the stack reported
    assert name_suffix(use_aws=True, outputs_path=Path("unused"), env="staging") == "staging"


def test_the_local_system_uses_the_suffix_of_its_outputs_file(tmp_path: Path) -> None:
    # Given a local system with the declared names, and one sharing its endpoint with a suffix
    plain = outputs_file(tmp_path / "plain.json", "")
    shared = outputs_file(tmp_path / "shared.json", "test-1a2b3c4d")
    # Then each is found under its own names
    assert name_suffix(use_aws=False, outputs_path=plain, env="dev") == ""
    assert name_suffix(use_aws=False, outputs_path=shared, env="dev") == "test-1a2b3c4d"
