"""Local bundling: arm64/3.13 wheels, the function's own code, trimmed botocore, cached installs."""

from __future__ import annotations

import ast
import email
import gzip
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import pytest

from libs.resources.environments import ENVIRONMENTS
from libs.resources.functions import FUNCTIONS
from stacks import bundle_contents, bundling
from stacks.__main__ import bundle_sizes
from stacks.bundle_contents import POWERTOOLS_UTILITIES
from stacks.bundling import (
    BUNDLE_BUDGET_MB,
    PROJECT_ROOT,
    BundleSpec,
    LocalBundling,
    RuntimeDependencies,
    bundle_budget_mb,
    tree_size,
)
from tests.infra.conftest import UNUSED_IMAGE, Synthesized

POWERTOOLS = "aws_lambda_powertools"

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
MB = 1024 * 1024


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


def test_service_models_ship_without_their_documentation_and_otherwise_unchanged(
    dev: Synthesized,
) -> None:
    # Given the models botocore ships, and each bundle's models
    installed = Path(botocore.__file__).parent / "data"
    for service, declaration in FUNCTIONS.items():
        data = asset_of(dev, service) / "botocore" / "data"
        for aws_service in declaration.aws_services:
            (bundled,) = (data / aws_service).glob("*/service-2.json*")
            assert bundled.name == "service-2.json"  # plain: botocore reads it first
            shipped = json.loads(bundled.read_bytes())
            original = json.loads(
                gzip.decompress(
                    (installed / bundled.relative_to(data)).with_suffix(".json.gz").read_bytes()
                )
            )
            # Then no documentation string is left, and nothing else is missing or changed
            assert shipped == without_documentation_strings(original), aws_service
            assert len(bundled.read_bytes()) < 0.5 * len(json.dumps(original))


def without_documentation_strings(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: without_documentation_strings(value)
            for key, value in node.items()
            if not (key.startswith("documentation") and isinstance(value, str))
        }
    if isinstance(node, list):
        return [without_documentation_strings(value) for value in node]
    return node


def test_a_member_named_documentation_is_kept() -> None:
    # Given a model whose shape has a member called "documentation" (and a docstring)
    model = {
        "shapes": {
            "Part": {
                "type": "structure",
                "members": {"documentation": {"shape": "String", "documentation": "Its text."}},
                "documentation": "A part.",
            }
        }
    }
    raw = gzip.compress(json.dumps(model).encode())
    # When the bundle's copy is made
    shipped = json.loads(bundle_contents.model_without_documentation(raw))
    # Then the member stays and only the strings go
    assert shipped == {
        "shapes": {"Part": {"type": "structure", "members": {"documentation": {"shape": "String"}}}}
    }


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
    # Prod also rotates its origin secret with a function of its own.
    edge = ENVIRONMENTS[synthesized.name].edge_protection
    assert len(sizes) == len(FUNCTIONS) + (1 if edge else 0)
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


def test_without_uv_local_bundling_declines_so_the_build_image_bundles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # (What the build image then runs: tests/infra/test_bundling_docker_fallback.py.)
    spec = BundleSpec.of(FUNCTIONS["orders"])
    monkeypatch.setattr(bundling, "uv_executable", lambda: None)
    bundling_here = LocalBundling(spec, RuntimeDependencies())
    declined = bundling_here.try_bundle(str(tmp_path), image=UNUSED_IMAGE)
    assert declined is False
    assert not list(tmp_path.iterdir())


def test_asked_to_bundle_with_docker_local_bundling_declines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given uv at hand, and the switch that asks for the build image
    spec = BundleSpec.of(FUNCTIONS["orders"])
    monkeypatch.setenv(bundling.BUNDLE_WITH_DOCKER, "1")
    # When CDK offers the bundling to this machine first
    bundling_here = LocalBundling(spec, RuntimeDependencies())
    declined = bundling_here.try_bundle(str(tmp_path), image=UNUSED_IMAGE)
    # Then it declines, so Docker runs the same trimming (test_bundling_docker_fallback.py)
    assert declined is False
    assert not list(tmp_path.iterdir())


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


# -- size ------------------------------------------------------------------------------------


def test_every_bundle_fits_its_budget(dev: Synthesized) -> None:
    # Given every function's asset from a real synth
    sizes = {service: tree_size(asset_of(dev, service)) for service in FUNCTIONS}
    budgets = {service: bundle_budget_mb(FUNCTIONS[service]) * MB for service in FUNCTIONS}
    # Then each is within its budget: 10 MB unzipped, more only for those that seal fields
    assert {s: size for s, size in sizes.items() if size > budgets[s]} == {}, sizes
    assert {s for s, b in budgets.items() if b > BUNDLE_BUDGET_MB * MB} == {
        s for s, f in FUNCTIONS.items() if "kms" in f.aws_services
    }


def test_only_functions_that_open_personal_fields_ship_cryptography(dev: Synthesized) -> None:
    for service, declaration in FUNCTIONS.items():
        asset = asset_of(dev, service)
        shipped = (asset / "cryptography").is_dir() and bool(list(asset.glob("_cffi_backend.*")))
        assert shipped == ("kms" in declaration.aws_services), service
        # cffi's Python side and pycparser are build-time tools: never shipped
        assert not (asset / "cffi").exists()
        assert not (asset / "pycparser").exists()


def test_unused_parts_of_the_dependencies_are_left_out_by_the_declared_rules(
    dev: Synthesized,
) -> None:
    asset = asset_of(dev, "orders")
    # Only the declared Powertools utilities ship
    utilities = {p.name.split(".")[0] for p in (asset / POWERTOOLS / "utilities").iterdir()}
    assert utilities == {"__init__", *POWERTOOLS_UTILITIES}
    # X-Ray patches only the libraries the bundle has (and the standard library)
    patches = {p.name for p in (asset / "aws_xray_sdk" / "ext").iterdir() if p.is_dir()}
    assert {"botocore", "aiobotocore", "aiohttp"} <= patches
    assert not patches & {"django", "flask", "sqlalchemy", "requests", "pynamodb", "httpx"}
    # Test suites, the Swagger UI's assets, aiohttp's server and install records are gone
    for absent in (
        "aioitertools/tests",
        "aiohttp/test_utils.pyc",
        "aiohttp/web.pyc",
        "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js",
        "botocore-*.dist-info/RECORD",
        "multidict/_testcapi.*",
    ):
        assert not list(asset.glob(absent)), absent


def test_licences_and_notices_of_every_dependency_ship(dev: Synthesized) -> None:
    # Given the wheels' own licence files, as installed in the development environment
    asset = asset_of(dev, "orders")
    for dist_info in asset.glob("*.dist-info"):
        name = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        wheel = importlib.metadata.distribution(name)
        licences = [
            str(f).split(".dist-info/", 1)[1]
            for f in wheel.files or []
            if ".dist-info/" in str(f)
            and re.search(r"(LICEN[CS]E|NOTICE|COPYING|AUTHORS)", f.name, re.IGNORECASE)
        ]
        # Then the bundle carries every one of them, and the metadata naming the licence
        for licence in licences:
            assert (dist_info / licence).is_file(), f"{dist_info.name}/{licence}"
        # And METADATA keeps the headers: name, version and licence as the wheel declares them
        metadata = email.message_from_bytes((dist_info / "METADATA").read_bytes())
        for field in ("Name", "Version", "License", "License-Expression"):
            assert metadata[field] == wheel.metadata[field], (dist_info.name, field)


def test_botocore_keeps_the_endpoints_of_the_declared_services_only(dev: Synthesized) -> None:
    for service, declaration in FUNCTIONS.items():
        endpoints = json.loads(
            (asset_of(dev, service) / "botocore" / "data" / "endpoints.json").read_bytes()
        )
        aws = next(p for p in endpoints["partitions"] if p["partition"] == "aws")
        # Every partition and region stays; the services are the declared ones (by prefix)
        assert {p["partition"] for p in endpoints["partitions"]} >= {"aws", "aws-cn"}
        assert "us-east-1" in aws["regions"]
        assert len(aws["services"]) <= len(declaration.aws_services), service
        if "dynamodb" in declaration.aws_services:
            assert "dynamodb" in aws["services"]
        assert "ec2" not in aws["services"]


# -- native extensions -----------------------------------------------------------------------


def section_names(elf: bytes) -> list[str]:
    """Section names of an ELF64 little-endian file (a reader independent of the stripper)."""
    shoff, shentsize, shnum, shstrndx = (
        int.from_bytes(elf[0x28:0x30], "little"),
        *(int.from_bytes(elf[o : o + 2], "little") for o in (0x3A, 0x3C, 0x3E)),
    )
    headers = [elf[shoff + i * shentsize : shoff + (i + 1) * shentsize] for i in range(shnum)]
    strings_at = int.from_bytes(headers[shstrndx][24:32], "little")
    names = []
    for header in headers:
        start = strings_at + int.from_bytes(header[0:4], "little")
        names.append(elf[start : elf.index(b"\0", start)].decode())
    return names


def loaded_segments(elf: bytes) -> list[tuple[bytes, bytes]]:
    """Each program header with the file bytes it maps, but for where the ELF header places the
    section headers (mapped with the header, read by no loader)."""
    elf = elf[:0x28] + bytes(8) + elf[0x30:0x3C] + bytes(4) + elf[0x40:]
    phoff, phentsize, phnum = (
        int.from_bytes(elf[0x20:0x28], "little"),
        int.from_bytes(elf[0x36:0x38], "little"),
        int.from_bytes(elf[0x38:0x3A], "little"),
    )
    segments = []
    for i in range(phnum):
        header = elf[phoff + i * phentsize : phoff + (i + 1) * phentsize]
        offset = int.from_bytes(header[8:16], "little")
        size = int.from_bytes(header[32:40], "little")
        segments.append((header, elf[offset : offset + size]))
    return segments


def test_native_extensions_ship_without_debug_sections(dev: Synthesized) -> None:
    extensions = list(asset_of(dev, "orders").rglob("*.so"))
    assert len(extensions) >= 8  # msgspec, aiohttp, multidict, yarl, propcache, frozenlist, ...
    for extension in extensions:
        names = section_names(extension.read_bytes())
        assert {".dynsym", ".text"} <= set(names), extension.name
        assert not [n for n in names if n.startswith(".debug") or n == ".symtab"], extension.name


@pytest.mark.skipif(sys.platform != "linux", reason="ELF shared objects")
def test_a_stripped_extension_maps_the_same_bytes_and_still_loads(tmp_path: Path) -> None:
    # Given a copy of this environment's multidict, whose extension carries debug information
    spec = importlib.util.find_spec("multidict")
    assert spec is not None
    assert spec.origin is not None
    package = tmp_path / "multidict"
    shutil.copytree(Path(spec.origin).parent, package)
    (extension,) = package.glob("_multidict.*.so")
    original = extension.read_bytes()
    assert [n for n in section_names(original) if n.startswith(".debug")]
    # When it is stripped
    assert bundle_contents.strip_native_extension(extension)
    stripped = extension.read_bytes()
    # Then it is smaller, every loaded segment is byte for byte the same
    assert len(stripped) < len(original)
    assert loaded_segments(stripped) == loaded_segments(original)
    assert not [n for n in section_names(stripped) if n.startswith(".debug")]
    # And Python loads and uses it
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import multidict._multidict as m; "
        "assert m.__file__.startswith(sys.argv[1]); print(m.MultiDict(a='1')['a'])"
    )
    ran = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", check, str(tmp_path)], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "1"


def test_a_file_that_is_not_a_plain_elf_shared_object_is_left_alone(tmp_path: Path) -> None:
    script = tmp_path / "fake.so"
    script.write_bytes(b"#!/bin/sh\n" + bytes(200))
    assert bundle_contents.strip_native_extension(script) is False
    assert bundle_contents.unloaded_sections_removed(b"\x7fELF\x01\x01" + bytes(100)) is None


# -- the bundle runs -------------------------------------------------------------------------

# Run inside a bundle with nothing else on sys.path, as Lambda would (tracing on): import the
# entrypoint, build a client of every declared service, and invoke the handler with an event
# that needs no AWS call.
_RUN_IN_BUNDLE = r"""
import asyncio, importlib, json, sys
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["bundle"])
handler = getattr(importlib.import_module(spec["module"]), spec["attribute"])

from aws_xray_sdk.core import patcher
from aiobotocore.session import get_session

async def endpoints():
    found = {}
    for service in spec["services"]:
        async with get_session().create_client(service, region_name=spec["region"]) as client:
            signer = client._request_signer
            found[service] = [client.meta.endpoint_url, signer.signing_name, signer.region_name]
    return found

class Context:
    function_name = spec["module"]
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    aws_request_id = "request-1"
    def get_remaining_time_in_millis(self):
        return 10_000

response = handler(spec["event"], Context())
result = {
    "response": response,
    "patched": sorted(patcher._PATCHED_MODULES),
    "endpoints": asyncio.run(endpoints()),
    "files": {name: getattr(m, "__file__", None) for name, m in list(sys.modules.items())},
    "stdlib": sorted(sys.stdlib_module_names),
}
with open(spec["result"], "w") as out:
    json.dump(result, out)
"""

_ENDPOINTS_ON_THIS_MACHINE = r"""
import json, sys
import botocore.session
spec = json.loads(sys.argv[1])
session = botocore.session.get_session()
found = {}
for service in spec["services"]:
    client = session.create_client(service, region_name=spec["region"])
    signer = client._request_signer
    found[service] = [client.meta.endpoint_url, signer.signing_name, signer.region_name]
print(json.dumps(found))
"""

HTTP_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/no-such-route",
    "rawQueryString": "",
    "headers": {"accept": "application/json"},
    "requestContext": {
        "http": {"method": "GET", "path": "/no-such-route", "protocol": "HTTP/1.1"},
        "requestId": "request-1",
        "routeKey": "$default",
        "stage": "$default",
    },
    "isBase64Encoded": False,
}


def clean_environment(**extra: str) -> dict[str, str]:
    """Credentials and region as a Lambda container has them, and no endpoint override from
    the test session."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **extra,
    }


def lambda_environment(task_root: Path) -> dict[str, str]:
    """What Lambda sets that Powertools and the X-Ray SDK read: in a task root they trace (and
    patch the AWS clients), and the SDK samples locally instead of asking the X-Ray API."""
    return clean_environment(
        LAMBDA_TASK_ROOT=str(task_root),
        AWS_LAMBDA_FUNCTION_NAME="function",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        # Segments go to a local port nobody listens on, as they would without a daemon.
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:9",
    )


REGION = next(iter({e.region for e in ENVIRONMENTS.values()}))


@pytest.fixture(scope="module")
def checking_interpreter() -> tuple[str, str]:
    """The interpreter that reads a bundle's bytecode (3.13 when bundles are compiled), and its
    version."""
    compiler = bundling.python_313()
    if compiler is not None:
        return str(compiler), bundling.PYTHON_VERSION
    return sys.executable, f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def native_for_this_machine(checking_interpreter: tuple[str, str]) -> Path:
    """The same pinned dependencies for this machine and the checking interpreter, trimmed by
    the same rules: their native extensions stand in for the bundle's arm64 ones."""
    if sys.platform != "linux":
        pytest.skip("the bundle's stand-in extensions are built for Linux")
    dependencies = RuntimeDependencies(
        platform=f"{platform.machine()}-manylinux2014", python_version=checking_interpreter[1]
    )
    return dependencies.installed()


def runnable_copy(bundle: Path, native: Path, destination: Path) -> Path:
    """The bundle, hard-linked, with this machine's build of each native extension beside the
    arm64 one (Python picks the one for its platform); every other file is the bundle's."""
    shutil.copytree(bundle, destination, copy_function=os.link)
    for extension in list(destination.rglob("*.so")):
        relative = extension.relative_to(destination)
        module = relative.name.split(".")[0]
        stand_ins = [
            p for p in (native / relative.parent).glob(f"{module}.*.so") if p.name != relative.name
        ]
        if not stand_ins and ".abi3." in relative.name and (native / relative).is_file():
            # A stable-ABI extension has one name on every platform: this machine's replaces it.
            extension.unlink()
            os.link(native / relative, extension)
            continue
        assert stand_ins, f"no build of {relative} for this machine"
        for stand_in in stand_ins:
            os.link(stand_in, extension.parent / stand_in.name)
    return destination


def run_in_bundle(interpreter: str, bundle: Path, service: str, tmp_path: Path) -> dict[str, Any]:
    declaration = FUNCTIONS[service]
    event = HTTP_EVENT if declaration.trigger == "http" else {"Records": []}
    spec = {
        "bundle": str(bundle),
        "module": declaration.module,
        "attribute": declaration.attribute,
        "services": list(declaration.aws_services),
        "region": REGION,
        "event": event,
        "result": str(tmp_path / f"{service}.json"),
    }
    ran = subprocess.run(  # noqa: S603 - our interpreter, our script
        [interpreter, "-I", "-S", "-c", _RUN_IN_BUNDLE, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=lambda_environment(bundle),
        cwd=tmp_path,
        timeout=120,
    )
    assert ran.returncode == 0, f"{service}:\n{ran.stderr[-3000:]}"
    result: dict[str, Any] = json.loads((tmp_path / f"{service}.json").read_text())
    return result


@pytest.mark.parametrize("service", list(FUNCTIONS))
def test_each_function_runs_from_its_bundle_alone(
    service: str,
    dev: Synthesized,
    checking_interpreter: tuple[str, str],
    native_for_this_machine: Path,
    tmp_path: Path,
) -> None:
    # Given the function's bundle, with only its native extensions built for this machine
    bundle = runnable_copy(asset_of(dev, service), native_for_this_machine, tmp_path / "task")
    # When its entrypoint is imported and invoked with nothing but the bundle on sys.path
    result = run_in_bundle(checking_interpreter[0], bundle, service, tmp_path)
    # Then every module it loaded came from the bundle or the standard library
    stdlib = set(result["stdlib"])
    outside = {
        name: file
        for name, file in result["files"].items()
        if file
        and name.split(".")[0] not in stdlib
        and not Path(file).resolve().is_relative_to(bundle.resolve())
    }
    assert not outside
    # And X-Ray patched the AWS client the functions call through, as it does in Lambda
    assert "aiobotocore" in result["patched"]
    # And it answered: HTTP functions a 404 problem, queue and stream consumers an empty batch
    response = result["response"]
    if FUNCTIONS[service].trigger == "http":
        assert response["statusCode"] == 404
        assert response["headers"]["Content-Type"] == "application/problem+json"
        assert json.loads(response["body"])["type"].endswith("/not-found")
    else:
        assert response == {"batchItemFailures": []}
    # And each declared service's client resolves the endpoint and signing scope that full
    # botocore resolves
    spec = {"services": list(FUNCTIONS[service].aws_services), "region": REGION}
    reference = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _ENDPOINTS_ON_THIS_MACHINE, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=True,
    )
    assert result["endpoints"] == json.loads(reference.stdout)


# -- the import graph ------------------------------------------------------------------------


class ImportGraph:
    """The modules a handler's imports reach, read from the sources of this environment (which
    installs the same pins). Imports for type checking only are not followed; an import inside
    ``try: ... except ImportError`` is optional; a module that unconditionally imports a
    distribution the bundle lacks (aiohttp's Gunicorn worker) cannot be imported, so is not
    reached."""

    def __init__(self, roots: list[Path], shipped: set[str]) -> None:
        self.roots = roots
        self.shipped = shipped  # top-level packages a bundle may hold
        self.stdlib = set(sys.stdlib_module_names)
        self._imports: dict[str, list[Import] | None] = {}

    def reached(self, entrypoint: str, present: Callable[[str], bool]) -> set[str]:
        """Modules the entrypoint reaches; ``present`` says what the bundle holds, to follow
        optional imports only where the bundle has them."""
        reached: set[str] = set()
        pending = [entrypoint]
        while pending:
            module = pending.pop()
            if module in reached or not self.exists(module):
                continue
            imports = self.imports_of(module) or []  # none read from an extension module
            if any(self._cannot_import(i) for i in imports):
                continue
            reached.add(module)
            pending += [
                i.target
                for i in imports
                if self._ours(i.target) and (not i.optional or present(i.target))
            ]
        return reached

    def imports_of(self, module: str) -> list[Import] | None:
        """The imports of ``module``; None when it has no source here (an extension)."""
        if module not in self._imports:
            self._imports[module] = self._read(module)
        return self._imports[module]

    def source(self, module: str) -> Path | None:
        *parents, name = module.split(".")
        for root in self.roots:
            for candidate in (
                root.joinpath(*parents, name, "__init__.py"),
                root.joinpath(*parents, f"{name}.py"),
            ):
                if candidate.is_file():
                    return candidate
        return None

    def exists(self, module: str) -> bool:
        *parents, name = module.split(".")
        return self.source(module) is not None or any(
            any(root.joinpath(*parents).glob(f"{name}.*.so")) for root in self.roots
        )

    def _ours(self, module: str) -> bool:
        return module.split(".")[0] in self.shipped

    def _cannot_import(self, found: Import) -> bool:
        top = found.target.split(".")[0]
        return found.unconditional and not self._ours(found.target) and top not in self.stdlib

    def _read(self, module: str) -> list[Import] | None:
        path = self.source(module)
        if path is None:
            return None
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parents = module.split(".")[:-1]
        found = [Import(".".join(parents[: i + 1])) for i in range(len(parents))]

        def visit(node: ast.AST, optional: bool, unconditional: bool) -> None:
            if isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    for child in node.body:
                        visit(child, optional, False)
                for child in node.orelse:
                    visit(child, optional, False)
                return
            if isinstance(node, ast.Try | ast.TryStar) and _catches_import_error(node):
                for child in node.body:
                    visit(child, True, False)
                rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
                for other in rest:
                    visit(other, optional, False)
                return
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                unconditional = False
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    found.extend(
                        Import(".".join(parts[: i + 1]), optional, unconditional)
                        for i in range(len(parts))
                    )
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node.module, node.level, package)
                found.append(Import(base, optional, unconditional))
                for alias in node.names:
                    if alias.name != "*" and self.exists(f"{base}.{alias.name}"):
                        found.append(Import(f"{base}.{alias.name}", optional, unconditional))
            for nested in ast.iter_child_nodes(node):
                visit(nested, optional, unconditional)

        visit(ast.parse(path.read_bytes()), False, True)
        return found


@dataclass(frozen=True)
class Import:
    """One import statement's target."""

    target: str
    optional: bool = False  # inside try/except ImportError
    unconditional: bool = True  # at module level, outside any if, try or function


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    base = package.split(".")
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try | ast.TryStar) -> bool:
    caught = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    for handler in node.handlers:
        if handler.type is None:
            return True
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in caught for n in names):
            return True
    return False


def shipped_top_levels() -> set[str]:
    """The project's packages and the top-level modules of the pinned runtime distributions."""
    pinned = {
        normalized(line.split("==")[0])
        for line in RuntimeDependencies().requirements.splitlines()
        if "==" in line
    }
    tops = {
        top
        for top, distributions in importlib.metadata.packages_distributions().items()
        if any(normalized(d) in pinned for d in distributions)
    }
    return tops | {"libs", "services"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def in_bundle(bundle: Path) -> Callable[[str], bool]:
    """Whether a module is in the bundle: source, bytecode, package or extension."""

    def present(module: str) -> bool:
        *parents, name = module.split(".")
        directory = bundle.joinpath(*parents)
        return (
            any((directory / name / f"__init__{s}").is_file() for s in (".py", ".pyc"))
            or any((directory / f"{name}{s}").is_file() for s in (".py", ".pyc"))
            or bool(list(directory.glob(f"{name}.cpython-313-*.so")))
            or bool(list(directory.glob(f"{name}.abi3.so")))
        )

    return present


@pytest.fixture(scope="module")
def import_graph() -> ImportGraph:
    site = Path(sysconfig.get_paths()["purelib"])
    return ImportGraph([PROJECT_ROOT, site], shipped_top_levels())


def test_every_module_a_handler_reaches_is_in_its_bundle(
    dev: Synthesized, import_graph: ImportGraph
) -> None:
    for service, declaration in FUNCTIONS.items():
        # Given the handler's import graph, read from the sources of the same pins
        bundle = asset_of(dev, service)
        present = in_bundle(bundle)
        reached = import_graph.reached(declaration.module, present)
        assert len(reached) > 300, service  # botocore, aiohttp, Powertools, libs, ...
        # Then the bundle holds every module of it
        missing = sorted(module for module in reached if not present(module))
        assert not missing, f"{service}: {missing}"


def test_the_import_graph_sees_a_missing_module(import_graph: ImportGraph) -> None:
    # Given a bundle without Powertools' logger
    def present(module: str) -> bool:
        return module != "aws_lambda_powertools.logging.logger"

    # Then the graph of a handler still reaches it (so the check above would fail)
    reached = import_graph.reached(FUNCTIONS["orders"].module, present)
    assert "aws_lambda_powertools.logging.logger" in reached
    # While the server side of aiohttp, imported for type checking only, is not reached
    assert "aiohttp.web" not in reached
    assert "aiohttp.client" in reached
