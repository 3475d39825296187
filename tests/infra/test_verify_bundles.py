"""``just verify-bundles``: the platform check, the events, and a broken bundle failing it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_checks.arm64_python import Arm64Python, Arm64PythonUnavailable
from deploy_checks.bundle_platform import platform_problems
from deploy_checks.verify_bundles import REQUESTS, bundled_functions, route_of
from libs.resources.api_routes import ROUTES
from libs.resources.functions import FUNCTIONS
from stacks.bundling import PROJECT_ROOT
from tests.infra.conftest import Synthesized

AARCH64, X86_64 = 183, 62


def shared_object(path: Path, machine: int) -> None:
    """A file with the ELF header of a 64-bit little-endian shared object for ``machine``."""
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + machine.to_bytes(2, "little") + bytes(100))


def test_the_platform_check_refuses_x86_64_and_cp311_extensions(tmp_path: Path) -> None:
    # Given a bundle with extensions for Lambda's platform, and two that are not
    shared_object(tmp_path / "msgspec" / "_core.cpython-313-aarch64-linux-gnu.so", AARCH64)
    shared_object(tmp_path / "pkg" / "_speedups.abi3.so", AARCH64)
    shared_object(tmp_path / "pkg.libs" / "libz-1a2b.so.1.3", AARCH64)
    shared_object(tmp_path / "multidict" / "_multidict.cpython-311-x86_64-linux-gnu.so", X86_64)
    shared_object(tmp_path / "yarl" / "_quoting.cpython-313-aarch64-linux-gnu.so", X86_64)
    # When it is checked
    problems = platform_problems(tmp_path)
    # Then exactly the foreign ones are named, with what is wrong with each
    assert problems == [
        "multidict/_multidict.cpython-311-x86_64-linux-gnu.so: built for x86_64, not aarch64",
        "multidict/_multidict.cpython-311-x86_64-linux-gnu.so: an extension for cp311, not cp313",
        "multidict/_multidict.cpython-311-x86_64-linux-gnu.so: an extension tagged x86_64, "
        "not aarch64",
        "yarl/_quoting.cpython-313-aarch64-linux-gnu.so: built for x86_64, not aarch64",
    ]


def test_every_synthesized_bundle_passes_the_platform_check(prod: Synthesized) -> None:
    # Given every function prod bundles (the rotation function among them)
    functions = bundled_functions(prod.directory)
    assert {f.name for f in functions} == {*FUNCTIONS, "origin-secret-rotation"}
    # Then each one's native code is for CPython 3.13 on arm64
    for function in functions:
        assert list(function.asset.rglob("*.so")), function.name
        assert platform_problems(function.asset) == [], function.name


def test_every_http_function_is_asked_on_a_route_of_its_own() -> None:
    for service, declaration in FUNCTIONS.items():
        if declaration.trigger != "http":
            continue
        # Given the function's representative request
        request = REQUESTS[service]
        # Then a declared route of that function serves it
        route = route_of(service, request)
        assert route.function == service
        assert route in ROUTES


def test_a_request_on_another_functions_route_is_refused() -> None:
    with pytest.raises(LookupError, match="products"):
        route_of("orders", REQUESTS["products"])


def assembly_copy(synthesized: Synthesized, destination: Path) -> Path:
    """The cloud assembly, hard-linked: files removed from the copy stay in the original."""
    shutil.copytree(synthesized.directory, destination, copy_function=os.link)
    return destination


def verify_bundles(*arguments: str, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, the project's command
        [sys.executable, "-m", "deploy_checks.verify_bundles", *arguments, "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=900,
        check=False,
    )


def test_a_bundle_with_an_x86_64_extension_fails_the_command_by_name(
    dev: Synthesized, tmp_path: Path
) -> None:
    # Given a copy of dev whose orders bundle carries msgspec built for x86_64 and CPython 3.11
    assembly = assembly_copy(dev, tmp_path / "assembly")
    (orders,) = [f for f in bundled_functions(assembly) if f.name == "orders"]
    (extension,) = (orders.asset / "msgspec").glob("_core.*.so")
    extension.unlink()
    shared_object(orders.asset / "msgspec" / "_core.cpython-311-x86_64-linux-gnu.so", X86_64)
    # When the command verifies it
    ran = verify_bundles("--assembly", str(assembly), "--only", "orders", output=tmp_path)
    # Then it fails, naming the function and the file
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "orders: carries native code Lambda cannot load" in ran.stderr
    assert "msgspec/_core.cpython-311-x86_64-linux-gnu.so: built for x86_64" in ran.stderr


@pytest.fixture(scope="module")
def arm64_python() -> Arm64Python:
    """The emulated arm64 CPython 3.13 (built into its cache when missing)."""
    try:
        return Arm64Python().ensure()
    except Arm64PythonUnavailable as error:
        pytest.skip(f"no arm64 python3.13 on this machine: {error}")


@pytest.mark.usefixtures("arm64_python")
def test_a_bundle_missing_a_module_fails_the_command_by_name(
    dev: Synthesized, tmp_path: Path
) -> None:
    # Given a copy of dev whose orders bundle lacks a module its handler imports first
    assembly = assembly_copy(dev, tmp_path / "assembly")
    (orders,) = [f for f in bundled_functions(assembly) if f.name == "orders"]
    libs = orders.asset / "libs"
    for module in [libs / "init_phase.py", *(libs / "__pycache__").glob("init_phase.*.pyc")]:
        module.unlink()
    # When the command runs it on the emulated arm64 interpreter
    ran = verify_bundles("--assembly", str(assembly), "--only", "orders", output=tmp_path)
    # Then it fails at import, naming the function and the missing module
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "orders: fails at import" in ran.stderr
    assert "init_phase" in ran.stderr
    assert "orders" in ran.stderr.rsplit("verify-bundles:", 1)[1]
