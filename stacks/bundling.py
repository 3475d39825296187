"""Lambda bundles built on this machine, without Docker: arm64 wheels for Python 3.13 plus code.

A bundle holds the project's runtime dependencies (``[project].dependencies``, pinned by
``uv.lock``), ``libs/`` and the function's own service package: nothing else. botocore's data
is cut down to the services the function declares it calls. The wheels are installed once per
lock into a cache and hard-linked into each bundle, so a synth re-bundles in well under a second.
Docker (the Lambda build image) is only the fallback for a machine without uv.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from libs.resources.functions import FunctionDeclaration

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.13"
PLATFORM = "aarch64-manylinux2014"
# Bump when what a bundle contains changes for the same sources, to invalidate caches and hashes.
BUNDLE_FORMAT = "4"
# Where Lambda unpacks the bundle: compiled files name their sources under it.
TASK_ROOT = "/var/task"

# Parts of the dependencies no function uses at run time (directories and files).
_NEVER_SHIPPED = (
    "bin",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui",
    # aiohttp's compiled WebSocket reader (2 MB): no function opens a WebSocket, and aiohttp
    # falls back to its pure-Python reader if one ever does.
    "aiohttp/_websocket/reader_c.cpython-313-aarch64-linux-gnu.so",
)
# Build inputs and type stubs that wheels carry along: never imported.
_NEVER_SHIPPED_SUFFIXES = (".pyi", ".pyx", ".pxd", ".c", ".h")
_BOTOCORE_DATA = Path("botocore") / "data"


@dataclass(frozen=True)
class BundleSpec:
    """What goes into one function's bundle."""

    package: str  # the package under services/ holding the entrypoint
    aws_services: tuple[str, ...]  # botocore services whose data is kept

    @classmethod
    def of(cls, function: FunctionDeclaration) -> BundleSpec:
        """The bundle of a declared function (``services.<package>.<module>.<attribute>``)."""
        top, package, *_ = function.module.split(".")
        if top != "services":
            raise ValueError(f"{function.handler!r} is not in a package under services/")
        return cls(package=package, aws_services=function.aws_services)


def python_313() -> Path | None:
    """A CPython 3.13 on this machine, to precompile bytecode with; None when there is none."""
    candidates = [shutil.which(f"python{PYTHON_VERSION}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [
        str(p) for p in sorted(pyenv.glob(f"{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"))
    ]
    for candidate in candidates:
        if candidate and _reports_version(candidate):
            return Path(candidate)
    return None


def _reports_version(interpreter: str) -> bool:
    try:
        found = _run(
            interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])", check=False
        )
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.strip() == PYTHON_VERSION


def uv_executable() -> str | None:
    """The uv binary (``uv run`` names itself in ``UV``)."""
    return os.environ.get("UV") or shutil.which("uv")


class RuntimeDependencies:
    """The project's runtime dependencies for Lambda, installed once per lock into a cache."""

    def __init__(
        self, root: Path = PROJECT_ROOT, cache: Path | None = None, compiler: Path | None = None
    ) -> None:
        self.root = root
        self.cache = cache or root / ".local" / "bundles"
        self.compiler = compiler

    @cached_property
    def requirements(self) -> str:
        """``[project].dependencies`` and their pins from uv.lock, with hashes."""
        uv = uv_executable()
        if uv is None:
            raise RuntimeError("uv is needed to read uv.lock")
        export = ("export", "--frozen", "--no-default-groups", "--no-emit-project")
        return _run(uv, *export, "--no-header", "--no-annotate", cwd=self.root).stdout

    @cached_property
    def key(self) -> str:
        """Names the installed set: the pins, the target and whether bytecode is compiled."""
        parts = (
            self.requirements,
            PLATFORM,
            PYTHON_VERSION,
            BUNDLE_FORMAT,
            str(bool(self.compiler)),
        )
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]

    def requirements_file(self) -> Path:
        """The pins as a file inside the project, where the Docker fallback can read them."""
        path = self.cache / f"requirements-{self.key}.txt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.requirements)
        return path

    def installed(self) -> Path:
        """The wheels unpacked for arm64/3.13 (installed on first use, then reused)."""
        target = self.cache / f"site-{self.key}"
        if target.is_dir():
            return target
        uv = uv_executable()
        if uv is None:
            raise RuntimeError("uv is needed to install the Lambda dependencies")
        staging = self.cache / f"staging-{self.key}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        _run(
            *(uv, "pip", "install", "--quiet", "--no-deps", "--require-hashes"),
            *("--only-binary", ":all:", "--python-platform", PLATFORM),
            *("--python-version", PYTHON_VERSION, "--target", str(staging)),
            *("-r", str(self.requirements_file())),
            cwd=self.root,
        )
        for never in _NEVER_SHIPPED:
            shutil.rmtree(staging / never, ignore_errors=True)
            (staging / never).unlink(missing_ok=True)
        for path in staging.rglob("*"):
            if path.suffix in _NEVER_SHIPPED_SUFFIXES and path.is_file():
                path.unlink()
        if self.compiler:
            precompile_sourceless(self.compiler, staging)
        try:
            staging.rename(target)
        except OSError:  # another synth finished the same install first
            shutil.rmtree(staging, ignore_errors=True)
        return target


def precompile(interpreter: Path, tree: Path, root: Path) -> None:
    """Compile every module under ``tree`` (paths recorded as under /var/task): Lambda's file
    system is read-only, so a bundle without bytecode compiles its imports on every cold start."""
    _run(
        *(str(interpreter), "-m", "compileall", "-q", "-j", "0"),
        # The hash mode never compares timestamps, which zipping does not keep exactly.
        *("--invalidation-mode", "unchecked-hash", "-s", str(root), "-p", TASK_ROOT, str(tree)),
        check=False,  # a module that does not compile for 3.13 simply ships as source
    )


def precompile_sourceless(interpreter: Path, tree: Path) -> None:
    """Compile the dependencies in place of their sources (``x.py`` becomes ``x.pyc``).

    Shipping both doubled their size for nothing Lambda needs; only tracebacks inside
    dependencies lose their source lines. A module that does not compile keeps its source.
    """
    _run(
        *(str(interpreter), "-m", "compileall", "-q", "-b", "-j", "0"),
        *("--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", TASK_ROOT, str(tree)),
        check=False,
    )
    for source in tree.rglob("*.py"):
        if source.with_suffix(".pyc").is_file():
            source.unlink()


def _run(*command: str, check: bool = True, cwd: Path | None = None) -> CompletedProcess[str]:
    # Our own tools with our own paths as arguments, never a shell.
    return subprocess.run(  # noqa: S603
        command, cwd=cwd, capture_output=True, text=True, check=check, timeout=600
    )


def build_bundle(
    output: Path, spec: BundleSpec, dependencies: RuntimeDependencies, root: Path = PROJECT_ROOT
) -> None:
    """Write one function's bundle into ``output``."""
    package = root / "services" / spec.package
    if not (package / "__init__.py").is_file():
        raise FileNotFoundError(f"no service package for function {spec.package!r}: {package}")
    site = dependencies.installed()
    shutil.copytree(
        site,
        output,
        ignore=_botocore_data_filter(site, spec.aws_services),
        copy_function=_link_or_copy,
        dirs_exist_ok=True,
    )
    code = _code_ignore()
    shutil.copytree(root / "libs", output / "libs", ignore=code, dirs_exist_ok=True)
    (output / "services").mkdir(exist_ok=True)
    shutil.copy2(root / "services" / "__init__.py", output / "services" / "__init__.py")
    shutil.copytree(package, output / "services" / spec.package, ignore=code, dirs_exist_ok=True)
    if dependencies.compiler:
        for tree in ("libs", "services"):
            precompile(dependencies.compiler, output / tree, output)


def _link_or_copy(source: str, destination: str) -> Any:
    # Hard links make a bundle of ~2,000 dependency files nearly free; across file systems, copy.
    try:
        os.link(source, destination)
    except OSError:
        return shutil.copy2(source, destination)
    return destination


def _code_ignore() -> Callable[[str, list[str]], Iterable[str]]:
    return shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def _botocore_data_filter(
    site: Path, services: Sequence[str]
) -> Callable[[str, list[str]], Iterable[str]]:
    """Skip botocore's data of services the function does not call, older API versions and
    documentation examples (about 27 MB of the 29 MB botocore ships)."""
    data = site / _BOTOCORE_DATA
    keep = set(services)

    def ignore(directory: str, names: list[str]) -> Iterable[str]:
        path = Path(directory)
        if path == data:
            return [n for n in names if (path / n).is_dir() and n not in keep]
        if path.parent == data:  # a service: keep only its newest API version
            versions = sorted(n for n in names if (path / n).is_dir())
            return versions[:-1]
        if path.parent.parent == data:
            return [n for n in names if n.startswith("examples-")]
        return []

    return ignore


def source_hash(
    spec: BundleSpec, dependencies: RuntimeDependencies, root: Path = PROJECT_ROOT
) -> str:
    """Changes exactly when the bundle's content would: code, dependencies, format."""
    digest = hashlib.sha256()
    digest.update(f"{spec}\n{dependencies.key}\n".encode())
    package = root / "services" / spec.package
    files = [root / "services" / "__init__.py"]
    for tree in (root / "libs", package):
        files += sorted(p for p in tree.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LocalBundling:
    """CDK's local bundling hook: builds the bundle with uv, or declines so Docker does it."""

    def __init__(self, spec: BundleSpec, dependencies: RuntimeDependencies) -> None:
        self.spec = spec
        self.dependencies = dependencies

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: Any) -> bool:
        """Bundle into ``output_dir``; False hands the work to the Docker image."""
        if uv_executable() is None:
            return False
        build_bundle(Path(output_dir), self.spec, self.dependencies)
        return True


def docker_command(spec: BundleSpec, requirements: str) -> list[str]:
    """The same bundle built inside the Lambda build image (``requirements`` is relative)."""
    keep = " ".join(f"! -name {service}" for service in spec.aws_services)
    script = " && ".join(
        [
            "pip install --no-deps --require-hashes --only-binary :all: "
            f"-r /asset-input/{requirements} -t /asset-output",
            "cp -r /asset-input/libs /asset-output/",
            "mkdir -p /asset-output/services",
            "cp /asset-input/services/__init__.py /asset-output/services/",
            f"cp -r /asset-input/services/{spec.package} /asset-output/services/",
            f"find /asset-output/botocore/data -mindepth 1 -maxdepth 1 -type d {keep} "
            "-exec rm -rf {} +",
            "find /asset-output -name __pycache__ -prune -exec rm -rf {} +",
            "python -m compileall -q --invalidation-mode unchecked-hash /asset-output",
        ]
    )
    return ["bash", "-c", script]


class FunctionBundler:
    """Lambda code assets for the declared functions, sharing one dependency install."""

    def __init__(self, dependencies: RuntimeDependencies | None = None) -> None:
        self.dependencies = dependencies or RuntimeDependencies(compiler=python_313())

    def code(self, function: FunctionDeclaration) -> lambda_.Code:
        """The asset of ``function``; its hash is known before bundling, so an unchanged
        function is not bundled again into the same cloud assembly."""
        spec = BundleSpec.of(function)
        requirements = self.dependencies.requirements_file().relative_to(self.dependencies.root)
        return lambda_.Code.from_asset(
            str(self.dependencies.root),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=source_hash(spec, self.dependencies),
            bundling=BundlingOptions(
                image=RUNTIME.bundling_image,
                platform="linux/arm64",
                command=docker_command(spec, requirements.as_posix()),
                local=LocalBundling(spec, self.dependencies),
            ),
        )


def tree_size(path: Path) -> int:
    """Bytes of every file under ``path`` (a bundle's unzipped size)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
