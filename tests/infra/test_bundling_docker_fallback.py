"""The Docker fallback: the Lambda build image installs the same pins with pip, then runs the
trimming and assembly of local bundling (``stacks/bundle_contents.py``) with the same inputs, so
it builds the same bundle."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import AssetStaging, BundlingOptions

from libs.resources.functions import FUNCTIONS
from stacks import bundle_contents
from stacks.bundling import (
    PROJECT_ROOT,
    RUNTIME,
    BundleSpec,
    FunctionBundler,
    LocalBundling,
    RuntimeDependencies,
    build_bundle,
    python_313,
)
from tests.infra.conftest import UNUSED_IMAGE

PROJECT_IN_IMAGE = AssetStaging.BUNDLING_INPUT_DIR  # where CDK mounts the asset's source
OUTPUT_IN_IMAGE = AssetStaging.BUNDLING_OUTPUT_DIR  # what CDK zips as the asset
SCRIPT = Path(bundle_contents.__file__).resolve()


def steps_of(options: BundlingOptions) -> list[list[str]]:
    """The shell commands the build image runs, each as its arguments."""
    assert options.command is not None
    shell, flag, script = options.command
    assert (shell, flag) == ("bash", "-c")
    steps: list[list[str]] = [[]]
    for token in shlex.split(script):
        if token == "&&":
            steps.append([])
        else:
            steps[-1].append(token)
    return steps


def option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


@dataclass
class Assembly:
    """The inputs of one call of ``assemble_bundle``."""

    output: Path
    install: Path
    root: Path
    package: str
    aws_services: tuple[str, ...]
    compiler: Path | None


@dataclass
class RecordedSteps:
    """The trimming and assembly calls made, with their inputs, instead of running them."""

    trimmed: list[tuple[Path, Path | None]] = field(default_factory=list)
    assembled: list[Assembly] = field(default_factory=list)

    def trim_dependencies(self, install: Path, compiler: Path | None) -> None:
        self.trimmed.append((install, compiler))

    def assemble_bundle(self, *arguments: Any) -> None:
        output, install, root, package, aws_services, compiler = arguments
        self.assembled.append(
            Assembly(output, install, root, package, tuple(aws_services), compiler)
        )


def recording(monkeypatch: pytest.MonkeyPatch) -> RecordedSteps:
    recorded = RecordedSteps()
    monkeypatch.setattr(bundle_contents, "trim_dependencies", recorded.trim_dependencies)
    monkeypatch.setattr(bundle_contents, "assemble_bundle", recorded.assemble_bundle)
    return recorded


def test_the_fallback_builds_in_the_lambda_build_image_for_arm64() -> None:
    # Given the bundling options CDK receives for the orders function
    spec = BundleSpec.of(FUNCTIONS["orders"])
    options = FunctionBundler().bundling_options(spec)
    # Then local bundling comes first, for the same function
    assert isinstance(options.local, LocalBundling)
    assert options.local.spec == spec
    # And the fallback is the Python 3.13 build image on arm64, Lambda's runtime and architecture
    assert options.image.image == RUNTIME.bundling_image.image
    assert options.image.image.endswith("/build-python3.13")
    assert options.platform == "linux/arm64"
    # And it runs two steps: pip's install, then the trimming script of local bundling
    install, trim = steps_of(options)
    assert install[:4] == ["python", "-m", "pip", "install"]
    assert trim[:2] == ["python", f"{PROJECT_IN_IMAGE}/{SCRIPT.relative_to(PROJECT_ROOT)}"]


def test_the_fallback_installs_the_locked_pins_into_what_it_then_trims() -> None:
    # Given the fallback's steps for the orders function
    dependencies = RuntimeDependencies()
    options = FunctionBundler(dependencies).bundling_options(BundleSpec.of(FUNCTIONS["orders"]))
    install, trim = steps_of(options)
    # Then pip installs the pins exported from uv.lock, hash-checked, wheels only, no others
    requirements = option(install, "-r")
    assert requirements.startswith(f"{PROJECT_IN_IMAGE}/")
    in_project = PROJECT_ROOT / requirements.removeprefix(f"{PROJECT_IN_IMAGE}/")
    assert in_project.read_text() == dependencies.requirements
    assert {"--require-hashes", "--no-deps", "--no-compile"} <= set(install)
    assert option(install, "--only-binary") == ":all:"
    # And into the directory the script trims, outside the asset's output
    target = option(install, "--target")
    assert trim[2] == target
    assert not target.startswith((OUTPUT_IN_IMAGE, PROJECT_IN_IMAGE))


@pytest.mark.parametrize("compiles", [True, False], ids=["with-bytecode", "sources-only"])
@pytest.mark.parametrize("service", list(FUNCTIONS))
def test_the_fallback_trims_and_assembles_with_the_inputs_of_local_bundling(
    service: str, compiles: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = BundleSpec.of(FUNCTIONS[service])
    compiler = Path(sys.executable) if compiles else None  # the script compiles with its own
    # Given local bundling into an empty cache, its install and both steps recorded, not run
    local = RuntimeDependencies(cache=tmp_path / "cache", compiler=compiler)
    monkeypatch.setattr(local, "install", lambda target: target.mkdir(parents=True))
    local_steps = recording(monkeypatch)
    assert LocalBundling(spec, local).try_bundle(str(tmp_path / "bundle"), image=UNUSED_IMAGE)
    # And the fallback's trimming step, run through the script's own entry point
    options = FunctionBundler(RuntimeDependencies(compiler=compiler)).bundling_options(spec)
    _, trim = steps_of(options)
    docker_steps = recording(monkeypatch)
    bundle_contents.main(trim[2:])
    # Then both trim an install once, compiling the same way
    ((_, local_compiler),) = local_steps.trimmed
    ((docker_install, docker_compiler),) = docker_steps.trimmed
    assert docker_compiler == local_compiler == compiler
    # And both assemble the same function's bundle from what they trimmed and the project
    (local_assembly,) = local_steps.assembled
    (docker_assembly,) = docker_steps.assembled
    assert local_assembly.install == local.installed()  # the trimmed install, renamed
    assert docker_assembly.install == docker_install
    assert local_assembly.root == PROJECT_ROOT
    assert docker_assembly.root == Path(PROJECT_IN_IMAGE)
    assert local_assembly.output == tmp_path / "bundle"
    assert docker_assembly.output == Path(OUTPUT_IN_IMAGE)
    expected = (spec.package, spec.aws_services, compiler)
    assert (local_assembly.package, local_assembly.aws_services, local_assembly.compiler) == (
        expected
    )
    assert (docker_assembly.package, docker_assembly.aws_services, docker_assembly.compiler) == (
        expected
    )


# -- the script on a real install ------------------------------------------------------------


@pytest.fixture(scope="module")
def dependencies() -> RuntimeDependencies:
    """Lambda's pins, compiled when a 3.13 interpreter exists: what synth bundles with."""
    return RuntimeDependencies(compiler=python_313())


@pytest.fixture(scope="module")
def untrimmed_install(
    dependencies: RuntimeDependencies, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The pins for Lambda's platform as ``pip install --target`` leaves them: nothing trimmed."""
    target = tmp_path_factory.mktemp("untrimmed") / "install"
    dependencies.install(target)
    return target


def digests(tree: Path) -> dict[str, str]:
    """Every file under ``tree`` by relative path, with the SHA-256 of its bytes."""
    return {
        path.relative_to(tree).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in tree.rglob("*")
        if path.is_file()
    }


def run_as_in_the_image(trim: list[str], install: Path, output: Path, interpreter: str) -> None:
    """The fallback's trimming step with the image's paths mapped to this machine's, run by an
    isolated interpreter without site-packages: the script needs the standard library only."""
    in_image = {
        PROJECT_IN_IMAGE: str(PROJECT_ROOT),
        OUTPUT_IN_IMAGE: str(output),
        trim[2]: str(install),
    }
    script = trim[1].replace(f"{PROJECT_IN_IMAGE}/", f"{PROJECT_ROOT}/", 1)
    arguments = [in_image.get(argument, argument) for argument in trim[2:]]
    ran = subprocess.run(  # noqa: S603 - our interpreter, our script
        [interpreter, "-I", "-S", script, *arguments],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]


# The trimming is the same for every function; these two differ most in what they assemble (the
# HTTP function calling the most services, the stream consumer calling one).
@pytest.mark.parametrize("service", ["orders", "event-relay"])
def test_the_fallbacks_script_turns_an_untrimmed_install_into_the_local_bundle(
    service: str, dependencies: RuntimeDependencies, untrimmed_install: Path, tmp_path: Path
) -> None:
    spec = BundleSpec.of(FUNCTIONS[service])
    # Given the bundle local bundling builds
    local = tmp_path / "local"
    build_bundle(local, spec, dependencies)
    # And a copy of the untrimmed install, as pip leaves it in the image
    install = tmp_path / "install"
    shutil.copytree(untrimmed_install, install, copy_function=os.link)
    untrimmed = sum(1 for path in install.rglob("*") if path.is_file())
    # When the fallback's trimming step runs on it, by the interpreter the bundle targets
    _, trim = steps_of(FunctionBundler(dependencies).bundling_options(spec))
    interpreter = str(dependencies.compiler or sys.executable)
    run_as_in_the_image(trim, install, tmp_path / "docker", interpreter)
    # Then it wrote the local bundle: the same files with the same bytes
    built = digests(tmp_path / "docker")
    assert built == digests(local)
    # Which is not the untouched install (botocore's 400 services, sources beside bytecode...)
    assert len(built) < untrimmed / 2
    assert (tmp_path / "docker" / "services" / spec.package / "handler.py").is_file()
