"""Each environment's app synthesized once per session, its templates read as plain JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import DockerImage

from stacks.app import build_app

Resource = dict[str, Any]
# What CDK would bundle in when local bundling declines: never started by these tests.
UNUSED_IMAGE = DockerImage.from_registry("public.ecr.aws/sam/build-python3.13")


@dataclass
class Synthesized:
    """A synthesized cloud assembly of one environment."""

    name: str
    directory: Path
    manifest: dict[str, Any] = field(init=False)
    templates: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.manifest = json.loads((self.directory / "manifest.json").read_text())
        self.templates = {}
        for artifact in self.manifest["artifacts"].values():
            if artifact["type"] == "aws:cloudformation:stack":
                stack_id = artifact["displayName"]
                path = self.directory / artifact["properties"]["templateFile"]
                self.templates[stack_id] = json.loads(path.read_text())

    def resources(self, type_: str, stack: str | None = None) -> dict[str, Resource]:
        """Resources of a CloudFormation type, by logical id, in one stack or in all."""
        found: dict[str, Resource] = {}
        for stack_id, template in self.templates.items():
            if stack in (None, stack_id):
                for logical_id, resource in template.get("Resources", {}).items():
                    if resource["Type"] == type_:
                        found[logical_id] = resource
        return found

    def only(self, type_: str, stack: str | None = None) -> Resource:
        """The one resource of a type."""
        (resource,) = self.resources(type_, stack).values()
        return resource

    def findings(self) -> list[str]:
        """Errors and warnings recorded at synth (cdk-nag's unsuppressed findings among them)."""
        messages = []
        for artifact in self.manifest["artifacts"].values():
            for path, entries in artifact.get("metadata", {}).items():
                for entry in entries:
                    if entry["type"] in ("aws:cdk:error", "aws:cdk:warning"):
                        messages.append(f"{path}: {entry['data']}")
        return messages


def synthesize(name: str, outdir: Path, **context: str) -> Synthesized:
    """Synthesize the app for ``--context env=<name>`` (real bundles, cached dependencies)."""
    app = build_app({"env": name, **context}, str(outdir))
    return Synthesized(name, Path(app.synth().directory))


REPOSITORY = "example-org/shop"
CONNECTION_ARN = "arn:aws:codeconnections:us-east-1:123456789012:connection/example"


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        "pipeline",
        tmp_path_factory.mktemp("cdk-pipeline"),
        github_connection_arn=CONNECTION_ARN,
        github_repository=REPOSITORY,
    )


@pytest.fixture(scope="session", params=["dev", "prod"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    """Each environment in turn."""
    environment: Synthesized = request.getfixturevalue(request.param)
    return environment
