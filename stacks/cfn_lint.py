"""cfn-lint over a synthesized cloud assembly: what fails a build, and the warnings accepted.

Every template a deploy uploads (each stack of an environment, and the pipeline with its stage
templates) must pass cfn-lint with no error. A warning is fixed where the template is made, or
accepted here by rule id with its reason; nothing else is ignored.

    uv run python -m stacks.cfn_lint cdk.out     # after `just synth`: prints what is not accepted
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from libs.resources.environments import ENVIRONMENTS

# Rule id → why its findings are accepted. Warnings only: an error is never accepted.
ACCEPTED: Final[Mapping[str, str]] = {
    "W3005": (
        "CDK's lambda.Function makes the function depend on its role construct, so that the "
        "role's default policy exists before the function does; the role half of that DependsOn "
        "is also implied by the function's GetAtt of the role ARN. Only an override of the "
        "function's whole DependsOn could drop it, and that would silently drop any dependency "
        "added later."
    ),
}

# Every region a template is deployed to: where each resource type and property must exist.
REGIONS: Final = tuple(sorted({environment.region for environment in ENVIRONMENTS.values()}))


@dataclass(frozen=True, slots=True)
class Finding:
    """One cfn-lint match: the rule, its level, where, and what."""

    rule: str
    level: str  # "Error", "Warning" or "Informational"
    template: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.rule} ({self.level}) {self.message}"


def assembly_templates(directory: Path) -> list[Path]:
    """Every stack template of a cloud assembly, those of nested (stage) assemblies included."""
    manifest = json.loads((directory / "manifest.json").read_text())
    templates: list[Path] = []
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            templates.append(directory / properties["templateFile"])
        elif artifact["type"] == "cdk:cloud-assembly":
            templates += assembly_templates(directory / properties["directoryName"])
    return templates


def lint(templates: Sequence[Path], regions: Sequence[str] = REGIONS) -> list[Finding]:
    """What cfn-lint finds in the templates (all of them, accepted or not)."""
    if not templates:
        return []
    # cfn-lint's own entry point, in this interpreter: its exit status only counts findings.
    command = [
        sys.executable,
        "-c",
        "import sys; from cfnlint.runner import main; sys.exit(main())",
    ]
    arguments = ["--format", "json", "--regions", *regions, "--", *map(str, templates)]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*command, *arguments], capture_output=True, text=True, check=False
    )
    try:
        matches = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"cfn-lint did not run: {completed.stderr.strip()}") from None
    return [
        Finding(
            rule=match["Rule"]["Id"],
            level=match["Level"],
            template=match["Filename"],
            line=match["Location"]["Start"]["LineNumber"],
            message=match["Message"],
        )
        for match in matches
    ]


def unaccepted(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that fail a build: every error, and each warning not accepted above."""
    return [
        finding
        for finding in findings
        if finding.level == "Error" or (finding.level == "Warning" and finding.rule not in ACCEPTED)
    ]


def main(argv: list[str]) -> int:
    """Lint every template of the assemblies named; non-zero when any finding is unaccepted."""
    findings = lint([template for name in argv for template in assembly_templates(Path(name))])
    failing = unaccepted(findings)
    for finding in failing:
        print(finding)
    print(f"{len(findings)} findings, {len(failing)} not accepted")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["cdk.out"]))
