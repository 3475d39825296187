"""Pipeline stack: self-mutating CDK Pipeline from GitHub, tests before synth, dev then prod."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.app import build_app
from tests.infra.conftest import CONNECTION_ARN, REPOSITORY, Synthesized


def stages(pipeline: Synthesized) -> list[dict[str, Any]]:
    resource = pipeline.only("AWS::CodePipeline::Pipeline")
    found: list[dict[str, Any]] = resource["Properties"]["Stages"]
    return found


def test_source_is_the_github_connection(pipeline: Synthesized) -> None:
    (source,) = stages(pipeline)[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION_ARN
    assert source["Configuration"]["FullRepositoryId"] == REPOSITORY
    assert source["Configuration"]["BranchName"] == "main"


def test_synth_runs_the_projects_tests_first(pipeline: Synthesized) -> None:
    projects = pipeline.resources("AWS::CodeBuild::Project").values()
    specs = [p["Properties"]["Source"]["BuildSpec"] for p in projects]
    (synth,) = [spec for spec in specs if "uv run just test" in spec]
    commands = json.loads(synth)["phases"]["build"]["commands"]
    assert commands[0] == "uv run just test"
    assert commands[1].startswith("uv run python -m stacks synth --context env=pipeline")


def test_pipeline_mutates_itself_then_deploys_dev_then_prod_after_approval(
    pipeline: Synthesized,
) -> None:
    names = [stage["Name"] for stage in stages(pipeline)]
    assert names[:3] == ["Source", "Build", "UpdatePipeline"]
    assert names.index("Dev") < names.index("Prod")
    prod = next(stage for stage in stages(pipeline) if stage["Name"] == "Prod")
    first = min(prod["Actions"], key=lambda action: action["RunOrder"])
    assert first["ActionTypeId"]["Provider"] == "Manual"


def test_each_stage_holds_the_whole_system_checked_by_cdk_nag(pipeline: Synthesized) -> None:
    for stage in ("Dev", "Prod"):
        nested = Synthesized(stage.lower(), pipeline.directory / f"assembly-Pipeline-{stage}")
        assert {name.split("/")[-1] for name in nested.templates} >= {
            "Security",
            "Database",
            "Cognito",
            "Events",
            "Functions",
            "Api",
            "Monitoring",
            "Config",
        }
        assert nested.findings() == []
    assert pipeline.findings() == []


def test_the_smoke_tests_run_against_dev_before_the_approval(pipeline: Synthesized) -> None:
    # Given the Dev stage's actions
    dev = next(stage for stage in stages(pipeline) if stage["Name"] == "Dev")
    last = max(dev["Actions"], key=lambda action: action["RunOrder"])
    # Then its last action is the smoke tests, run in CodeBuild with the stage's outputs
    assert last["Name"] == "SmokeTests"
    projects = pipeline.resources("AWS::CodeBuild::Project").values()
    (spec,) = [
        json.loads(p["Properties"]["Source"]["BuildSpec"])
        for p in projects
        if "-m smoke" in p["Properties"]["Source"]["BuildSpec"]
    ]
    commands = spec["phases"]["build"]["commands"]
    assert commands[0].startswith("uv run python -m stacks outputs-from-env")
    assert "EMULATOR=aws" in commands[1]
    assert "pytest -m smoke" in commands[1]
    variables = json.loads(last["Configuration"]["EnvironmentVariables"])
    assert {v["name"] for v in variables} >= {"ApiUrl", "UserPoolId", "UserPoolClientId", "Region"}


@pytest.mark.parametrize(
    "context",
    [{}, {"github_connection_arn": CONNECTION_ARN}, {"github_repository": REPOSITORY}],
    ids=["neither", "no-repository", "no-connection"],
)
def test_the_pipeline_refuses_to_build_without_its_source(
    tmp_path: Path, context: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"github_connection_arn=.*github_repository"):
        build_app({"env": "pipeline", **context}, str(tmp_path))


def test_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown environment"):
        build_app({"env": "staging"}, str(tmp_path))
