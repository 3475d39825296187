"""cfn-lint: every template a deploy uploads passes, with only the warnings stacks/cfn_lint.py
accepts (each with its reason)."""

from __future__ import annotations

import json
from pathlib import Path

from stacks.cfn_lint import ACCEPTED, assembly_templates, lint, unaccepted
from tests.infra.conftest import Synthesized


def test_every_template_of_an_environment_passes_cfn_lint(synthesized: Synthesized) -> None:
    # Given every stack template of the environment
    templates = assembly_templates(synthesized.directory)
    assert len(templates) == len(synthesized.templates)
    # When cfn-lint reads them, Then it finds no error and no warning that is not accepted
    findings = lint(templates)
    assert unaccepted(findings) == [], "\n".join(map(str, unaccepted(findings)))


def test_the_pipeline_and_its_stage_templates_pass_cfn_lint(pipeline: Synthesized) -> None:
    # Given the pipeline's template and the templates of the stages it deploys
    templates = assembly_templates(pipeline.directory)
    stages = {path.parent.name for path in templates if path.parent != pipeline.directory}
    assert stages == {"assembly-Pipeline-Dev", "assembly-Pipeline-Prod"}
    # When cfn-lint reads them, Then it finds no error and no warning that is not accepted
    findings = lint(templates)
    assert unaccepted(findings) == [], "\n".join(map(str, unaccepted(findings)))


def test_only_warnings_are_accepted_and_each_says_why() -> None:
    for rule, reason in ACCEPTED.items():
        assert rule.startswith("W"), f"{rule}: an error is never accepted"
        assert len(reason.split()) >= 10, f"{rule}: say why it is accepted"


def test_an_error_or_a_warning_not_accepted_fails_and_an_accepted_warning_passes(
    tmp_path: Path,
) -> None:
    # Given a template with an error (a runtime Lambda does not have), a warning not accepted
    # (a parameter nothing uses) and an accepted one (a DependsOn a GetAtt already implies)
    template = {
        "Parameters": {"Unused": {"Type": "String"}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "DependsOn": ["Role"],
                "Properties": {
                    "Runtime": "python2.0",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                },
            },
        },
    }
    path = tmp_path / "Broken.template.json"
    path.write_text(json.dumps(template, indent=1))
    # When it is linted
    findings = lint([path])
    # Then the error and the unaccepted warning fail it, and the accepted warning does not
    failing = {finding.rule for finding in unaccepted(findings)}
    assert any(rule.startswith("E") for rule in failing), findings
    assert "W2001" in failing, findings
    assert "W3005" in {finding.rule for finding in findings}
    assert "W3005" not in failing
