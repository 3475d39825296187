"""Local bundling: arm64/3.13 wheels, the function's own code, trimmed botocore, cached installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from libs.resources.functions import FUNCTIONS
from stacks import bundling
from stacks.__main__ import bundle_sizes
from stacks.bundling import BundleSpec, LocalBundling, RuntimeDependencies, docker_command
from tests.infra.conftest import Synthesized

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def asset_of(synthesized: Synthesized, service: str) -> Path:
    handler = FUNCTIONS[service].handler
    for function in synthesized.resources("AWS::Lambda::Function", "Functions").values():
        if function["Properties"]["Handler"] == handler:
            key = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
            return synthesized.directory / f"asset.{key}"
    raise LookupError(service)


def test_a_bundle_holds_the_dependencies_libs_and_only_its_own_service(dev: Synthesized) -> None:
    # Given the orders function's asset from a real synth
    asset = asset_of(dev, "orders")
    # Then it has the shared runtime and its own package, and none of the other code
    assert (asset / "libs" / "http_function.py").is_file()
    assert (asset / "services" / "orders" / "handler.py").is_file()
    packages = {p.name for p in (asset / "services").iterdir() if p.is_dir()}
    assert packages - {"__pycache__"} == {"orders"}
    for absent in ("emulator", "tests", "stacks", "loadtests", "bin", "boto3", "moto", "pytest"):
        assert not (asset / absent).exists(), absent
    # And its compiled dependencies are CPython 3.13 for arm64 Linux
    extensions = [p.name for p in (asset / "msgspec").glob("_core*.so")]
    assert extensions == ["_core.cpython-313-aarch64-linux-gnu.so"]


def test_botocore_keeps_only_the_data_of_the_services_the_function_declares(
    dev: Synthesized,
) -> None:
    for service, declaration in FUNCTIONS.items():
        data = asset_of(dev, service) / "botocore" / "data"
        kept = sorted(p.name for p in data.iterdir() if p.is_dir())
        assert kept == sorted(declaration.aws_services), service
        for directory in data.iterdir():
            if directory.is_dir():
                assert len(list(directory.iterdir())) == 1  # only the newest API version


def test_bytecode_is_precompiled_exactly_when_a_313_interpreter_exists(dev: Synthesized) -> None:
    compiled = list((asset_of(dev, "orders") / "services" / "orders").rglob("*.cpython-313.pyc"))
    assert bool(compiled) == (bundling.python_313() is not None)
    assert not list(asset_of(dev, "orders").rglob("*.cpython-311.pyc"))


def test_dependencies_ship_as_bytecode_alone_and_without_build_inputs(dev: Synthesized) -> None:
    # Given the orders function's asset
    asset = asset_of(dev, "orders")
    botocore = asset / "botocore"
    # Then a dependency is compiled in place of its source when a 3.13 interpreter exists
    if bundling.python_313() is not None:
        assert (botocore / "client.pyc").is_file()
        assert not (botocore / "client.py").exists()
    # And stubs, Cython sources and the unused WebSocket reader are left out
    for pattern in ("*.pyi", "*.pyx", "*.pxd", "reader_c.*.so"):
        assert not list(asset.rglob(pattern)), pattern
    # While the project's own code keeps its sources (tracebacks show the lines)
    assert (asset / "services" / "orders" / "ordering.py").is_file()


def test_every_bundle_is_well_under_lambdas_unzipped_limit(synthesized: Synthesized) -> None:
    sizes = bundle_sizes(synthesized.directory)
    assert len(sizes) == len(FUNCTIONS)
    assert all(1_000_000 < size < LAMBDA_UNZIPPED_LIMIT / 4 for size in sizes.values())


def test_dependencies_are_installed_once_per_lock_then_reused(
    monkeypatch: pytest.MonkeyPatch, dev: Synthesized
) -> None:
    # Given the cache a synth has filled
    dependencies = RuntimeDependencies(compiler=bundling.python_313())
    installed = dependencies.installed()
    # When uv disappears, Then the cached install still serves: nothing is reinstalled
    monkeypatch.setattr(bundling, "uv_executable", lambda: None)
    assert dependencies.installed() == installed
    assert (installed / "aiobotocore").is_dir()


def test_the_lock_pins_only_the_projects_runtime_dependencies() -> None:
    pins = RuntimeDependencies().requirements
    names = {line.split("==")[0] for line in pins.splitlines() if "==" in line}
    assert {"aiobotocore", "msgspec", "aws-lambda-powertools"} <= names
    assert not names & {"moto", "pytest", "aws-cdk-lib", "ruff", "mypy", "boto3"}
    assert "--hash=sha256:" in pins


def test_the_asset_hash_follows_the_functions_code(tmp_path: Path) -> None:
    # Given a project with one service
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "shared.py").write_text("A = 1\n")
    (tmp_path / "services" / "orders").mkdir(parents=True)
    (tmp_path / "services" / "__init__.py").write_text("")
    (tmp_path / "services" / "orders" / "handler.py").write_text("B = 1\n")
    spec = BundleSpec(package="orders", aws_services=("dynamodb",))
    dependencies = RuntimeDependencies()
    before = bundling.source_hash(spec, dependencies, tmp_path)
    # When a shared module changes, Then the hash changes (and so the function redeploys)
    (tmp_path / "libs" / "shared.py").write_text("A = 2\n")
    assert bundling.source_hash(spec, dependencies, tmp_path) != before
    # And a compiled file appearing does not change it
    changed = bundling.source_hash(spec, dependencies, tmp_path)
    (tmp_path / "libs" / "__pycache__").mkdir()
    (tmp_path / "libs" / "__pycache__" / "shared.cpython-313.pyc").write_bytes(b"x")
    assert bundling.source_hash(spec, dependencies, tmp_path) == changed


def test_without_uv_bundling_falls_back_to_the_lambda_build_image(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = BundleSpec.of(FUNCTIONS["orders"])
    monkeypatch.setattr(bundling, "uv_executable", lambda: None)
    declined = LocalBundling(spec, RuntimeDependencies()).try_bundle(str(tmp_path), image=None)  # type: ignore[arg-type]
    assert declined is False
    script = docker_command(spec, ".local/bundles/requirements.txt")[-1]
    assert "pip install --no-deps --require-hashes --only-binary :all:" in script
    assert "cp -r /asset-input/services/orders /asset-output/services/" in script
    # orders keeps the data of the services it calls, and only theirs
    keep = " ".join(f"! -name {service}" for service in FUNCTIONS["orders"].aws_services)
    assert f"-type d {keep} -exec rm -rf" in script
    assert "! -name dynamodb" in keep


def test_a_handler_outside_services_is_refused() -> None:
    declaration = FUNCTIONS["orders"]
    stray = type(declaration)(service="x", handler="emulator.gateway.handler")
    with pytest.raises(ValueError, match="services/"):
        BundleSpec.of(stray)


def test_functions_share_one_asset_when_their_bundles_are_identical(dev: Synthesized) -> None:
    # Two functions of one package calling the same services ship the same bytes: one upload.
    files = json.loads((dev.directory / "Functions.assets.json").read_text())["files"]
    code = [f for f in files.values() if f["source"].get("packaging") == "zip"]
    distinct = {(f.module.split(".")[1], f.aws_services) for f in FUNCTIONS.values()}
    assert len(code) == len(distinct)
