"""Lambda bundles built on this machine, without Docker: arm64 wheels for Python 3.13 plus code.

A bundle holds the project's runtime dependencies (``[project].dependencies``, pinned by
``uv.lock``), ``libs/`` and the function's own service package: nothing else. The dependencies
are installed once per lock into a cache and trimmed there by the rules of
``stacks/bundle_contents.py`` (what no function reaches, debug sections of native extensions,
install records); each bundle hard-links that install and keeps botocore's data and endpoints for
the services its function declares, so a synth re-bundles in well under a second. Docker (the
Lambda build image) bundles instead when asked to (``BUNDLE_WITH_DOCKER=1``, e.g. for a dependency
without an arm64 wheel) or when uv is missing as CDK bundles: it installs the same pins with pip
and runs ``stacks/bundle_contents.py`` on them, so it builds the same bundle.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, AssetStaging, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from libs.resources.functions import FunctionDeclaration
from stacks import bundle_contents

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.13"
PLATFORM = "aarch64-manylinux2014"
# Bump when what a bundle contains changes for the same sources, to invalidate caches and hashes.
BUNDLE_FORMAT = "5"
# The unzipped size a bundle is held to (tests/infra and `just bench` check it): 10 MB, and more
# for a function that seals personal fields, whose AES-GCM comes from cryptography: its compiled
# module alone is 10.3 MB with its debug sections stripped (arm64, cryptography 50).
BUNDLE_BUDGET_MB = 10
SEALING_ALLOWANCE_MB = 12
# Where the Docker fallback installs the dependencies before trimming them (inside the image).
# Set to 1 to have the Lambda build image (Docker) bundle instead of this machine.
BUNDLE_WITH_DOCKER = "BUNDLE_WITH_DOCKER"
DOCKER_INSTALL = "/tmp/dependencies"  # noqa: S108 - a fresh container's own directory


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


def bundle_budget_mb(function: FunctionDeclaration) -> int:
    """The unzipped MB ``function``'s bundle may take."""
    sealing = bundle_contents.SEALING_SERVICE in function.aws_services
    return BUNDLE_BUDGET_MB + (SEALING_ALLOWANCE_MB if sealing else 0)


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
        found = bundle_contents.run_command(
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
        self,
        root: Path = PROJECT_ROOT,
        cache: Path | None = None,
        compiler: Path | None = None,
        *,
        platform: str = PLATFORM,
        python_version: str = PYTHON_VERSION,
    ) -> None:
        self.root = root
        self.cache = cache or root / ".local" / "bundles"
        self.compiler = compiler
        # Lambda's by default; tests install the same pins for the machine they run on.
        self.platform = platform
        self.python_version = python_version

    @cached_property
    def requirements(self) -> str:
        """``[project].dependencies`` and their pins from uv.lock, with hashes."""
        uv = uv_executable()
        if uv is None:
            raise RuntimeError("uv is needed to read uv.lock")
        export = ("export", "--frozen", "--no-default-groups", "--no-emit-project")
        return bundle_contents.run_command(
            uv, *export, "--no-header", "--no-annotate", cwd=self.root
        ).stdout

    @cached_property
    def key(self) -> str:
        """Names the installed set: the pins, the target, the trimming rules, and whether
        bytecode is compiled."""
        parts = (
            self.requirements,
            self.platform,
            self.python_version,
            BUNDLE_FORMAT,
            bundle_contents.TRIMMING_RULES,
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

    def install(self, target: Path) -> None:
        """The pinned wheels for the target platform unpacked into ``target``, untrimmed (what
        ``pip install --target`` gives the Docker fallback)."""
        uv = uv_executable()
        if uv is None:
            raise RuntimeError("uv is needed to install the Lambda dependencies")
        bundle_contents.run_command(
            *(uv, "pip", "install", "--quiet", "--no-deps", "--require-hashes"),
            *("--only-binary", ":all:", "--python-platform", self.platform),
            *("--python-version", self.python_version, "--target", str(target)),
            *("-r", str(self.requirements_file())),
            cwd=self.root,
        )

    def installed(self) -> Path:
        """The wheels unpacked for the target (Lambda's arm64/3.13 by default), trimmed;
        installed on first use, then reused."""
        target = self.cache / f"site-{self.key}"
        if target.is_dir():
            return target
        staging = self.cache / f"staging-{self.key}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        self.install(staging)
        bundle_contents.trim_dependencies(staging, self.compiler)
        try:
            staging.rename(target)
        except OSError:  # another synth finished the same install first
            shutil.rmtree(staging, ignore_errors=True)
        return target


def build_bundle(
    output: Path, spec: BundleSpec, dependencies: RuntimeDependencies, root: Path = PROJECT_ROOT
) -> None:
    """Write one function's bundle into ``output``."""
    package = root / "services" / spec.package
    if not (package / "__init__.py").is_file():
        raise FileNotFoundError(f"no service package for function {spec.package!r}: {package}")
    bundle_contents.assemble_bundle(
        output,
        dependencies.installed(),
        root,
        spec.package,
        spec.aws_services,
        dependencies.compiler,
    )


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
        if os.environ.get(BUNDLE_WITH_DOCKER) == "1" or uv_executable() is None:
            return False
        build_bundle(Path(output_dir), self.spec, self.dependencies)
        return True


def docker_command(spec: BundleSpec, requirements: str, *, compile_bytecode: bool) -> list[str]:
    """The same bundle built inside the Lambda build image: pip installs the pins
    (``requirements``, relative to the project), then ``stacks/bundle_contents.py`` trims them
    and assembles the bundle exactly as local bundling does."""
    project = AssetStaging.BUNDLING_INPUT_DIR  # where CDK mounts the project
    script = Path(bundle_contents.__file__).resolve().relative_to(PROJECT_ROOT).as_posix()
    install = [
        *("python", "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes"),
        *("--only-binary", ":all:", "--no-compile", "--disable-pip-version-check"),
        *("-r", f"{project}/{requirements}", "--target", DOCKER_INSTALL),
    ]
    trim_and_assemble = [
        *("python", f"{project}/{script}"),
        *bundle_contents.script_arguments(
            DOCKER_INSTALL,
            AssetStaging.BUNDLING_OUTPUT_DIR,
            project,
            spec.package,
            spec.aws_services,
            compile_bytecode=compile_bytecode,
        ),
    ]
    return ["bash", "-c", f"{shlex.join(install)} && {shlex.join(trim_and_assemble)}"]


class FunctionBundler:
    """Lambda code assets for the declared functions, sharing one dependency install."""

    def __init__(self, dependencies: RuntimeDependencies | None = None) -> None:
        self.dependencies = dependencies or RuntimeDependencies(compiler=python_313())

    def code(self, function: FunctionDeclaration) -> lambda_.Code:
        """The asset of ``function``; its hash is known before bundling, so an unchanged
        function is not bundled again into the same cloud assembly."""
        spec = BundleSpec.of(function)
        return lambda_.Code.from_asset(
            str(self.dependencies.root),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=source_hash(spec, self.dependencies),
            bundling=self.bundling_options(spec),
        )

    def bundling_options(self, spec: BundleSpec) -> BundlingOptions:
        """Local bundling, and the Lambda build image for when it declines. The image compiles
        exactly when local bundling would, as the asset hash records that choice."""
        requirements = self.dependencies.requirements_file().relative_to(self.dependencies.root)
        return BundlingOptions(
            image=RUNTIME.bundling_image,
            platform="linux/arm64",
            command=docker_command(
                spec,
                requirements.as_posix(),
                compile_bytecode=self.dependencies.compiler is not None,
            ),
            local=LocalBundling(spec, self.dependencies),
        )


def tree_size(path: Path) -> int:
    """Bytes of every file under ``path`` (a bundle's unzipped size)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
