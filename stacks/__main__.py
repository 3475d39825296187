"""``python -m stacks``: the CDK app (as the CDK CLI runs it), or ``synth`` without the CLI.

python -m stacks                              # run by ``cdk`` through cdk.json
python -m stacks synth --context env=prod     # writes cdk.out, prints each bundle's size
python -m stacks outputs CDK_OUTPUTS FILE     # `cdk deploy --outputs-file` → the outputs file
python -m stacks outputs-from-env FILE        # the same from variables named as the outputs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import msgspec

from libs.stack_outputs import StackOutputs
from stacks.app import build_app
from stacks.bundling import tree_size


def main(argv: list[str]) -> int:
    """Synthesize the app; with ``synth``, also report time and unzipped bundle sizes."""
    if not argv:
        build_app().synth()  # the CLI passes context and output directory in the environment
        return 0
    if argv[0] == "outputs" and len(argv) == 3:
        write_outputs(Path(argv[1]), Path(argv[2]))
        return 0
    if argv[0] == "outputs-from-env" and len(argv) == 2:
        # A pipeline step gets the deployed stage's outputs as variables (env_from_cfn_outputs).
        write_outputs_of({"stage": dict(os.environ)}, Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m stacks")
    parser.add_argument("command", choices=["synth"])
    parser.add_argument("--context", "-c", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", "-o", default="cdk.out")
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context)
    started = time.perf_counter()
    app = build_app(context, args.output)
    assembly = app.synth()
    elapsed = time.perf_counter() - started
    print(f"synthesized {context.get('env', 'dev')} into {args.output} in {elapsed:.1f} s")
    for name, size in bundle_sizes(Path(assembly.directory)).items():
        print(f"  {name:<50} {size / 1e6:6.1f} MB unzipped")
    return 0


def write_outputs(cdk_outputs: Path, destination: Path) -> None:
    """Flatten ``cdk deploy --outputs-file`` (per stack) into the emulator's outputs file."""
    write_outputs_of(json.loads(cdk_outputs.read_text()), destination)


def write_outputs_of(by_stack: dict[str, dict[str, str]], destination: Path) -> None:
    """Write the outputs file from each stack's outputs (keys as the stacks name them)."""
    flat: dict[str, str] = {"AwsEndpointUrl": ""}  # the real endpoints: botocore's defaults
    fields = set(StackOutputs.__struct_encode_fields__)
    for outputs in by_stack.values():
        flat.update({key: value for key, value in outputs.items() if key in fields})
    flat["AwsEndpointUrl"] = ""
    outputs = msgspec.convert(flat, StackOutputs)  # fails on a missing key
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(msgspec.json.format(msgspec.json.encode(outputs)) + b"\n")


def bundle_sizes(assembly: Path) -> dict[str, int]:
    """Unzipped size of each Lambda function's asset, by stack and logical id."""
    sizes: dict[str, int] = {}
    for template in sorted(assembly.glob("*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        for logical_id, resource in resources.items():
            code = resource["Properties"].get("Code", {}) if "Properties" in resource else {}
            key = code.get("S3Key")
            if resource["Type"] == "AWS::Lambda::Function" and isinstance(key, str):
                asset = assembly / f"asset.{key.removesuffix('.zip')}"
                sizes[f"{template.name.split('.')[0]}/{logical_id}"] = tree_size(asset)
    return sizes


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
