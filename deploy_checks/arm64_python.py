"""CPython 3.13 for arm64 on this machine: a Debian trixie root run under QEMU's user emulation.

Lambda's python3.13 on arm64 is what imports a bundle in AWS; this is the closest interpreter an
x86_64 machine can run. The root is built once from Debian's packages (mmdebstrap, ~10 s) into a
cache outside the repository, its standard library compiled to bytecode as Lambda's runtime ships
it, and reused; a missing or unfinished root is built again. mmdebstrap and qemu-user-static come
from apt-get when they are missing and this process may install them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

from stacks import bundling

# Trixie's python3.13 is 3.13.5: the release Lambda's python3.13 runtime follows closely.
SUITE: Final = "trixie"
PACKAGES: Final = ("python3.13", "ca-certificates")
DEFAULT_MIRROR: Final = "http://deb.debian.org/debian"
MIRROR_VARIABLE: Final = "DEBIAN_MIRROR"
# Where the root lives; ``ARM64_PYTHON_ROOT`` puts it elsewhere.
ROOT_VARIABLE: Final = "ARM64_PYTHON_ROOT"
DEFAULT_ROOT: Final = Path.home() / ".cache" / "serverless-blueprint" / "arm64-trixie"
EMULATOR: Final = "qemu-aarch64-static"
HOST_TOOLS: Final = {"mmdebstrap": "mmdebstrap", EMULATOR: "qemu-user-static"}
INTERPRETER: Final = "usr/bin/python3.13"
# Written last: a root without it is unfinished (an interrupted build) and is built again.
READY_MARKER: Final = ".serverless-blueprint-ready"


class Arm64PythonUnavailable(RuntimeError):
    """The emulated interpreter cannot be had on this machine (and why)."""


class Arm64Python:
    """The emulated interpreter: ``command`` and ``environment`` run it; ``ensure`` builds it."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)

    @property
    def ready(self) -> bool:
        """Whether the root is built and finished."""
        return (self.root / READY_MARKER).is_file() and (self.root / INTERPRETER).is_file()

    def ensure(self) -> Arm64Python:
        """Build the root unless it is ready; install the host tools first if they are missing."""
        ensure_host_tools()
        if self.ready:
            return self
        self.root.parent.mkdir(parents=True, exist_ok=True)
        # One build at a time (CI runs this beside the suite): a second waits, then finds it.
        with (self.root.parent / f"{self.root.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.ready:
                self._build()
        return self

    def command(self, *arguments: str) -> list[str]:
        """The command line running the arm64 python3.13 with ``arguments``."""
        emulator = shutil.which(EMULATOR)
        if emulator is None:
            raise Arm64PythonUnavailable(f"{EMULATOR} is not installed")
        return [emulator, str(self.root / INTERPRETER), *arguments]

    def environment(self, variables: dict[str, str]) -> dict[str, str]:
        """``variables`` plus what the emulator needs to find the root's loader and libraries."""
        return {"QEMU_LD_PREFIX": str(self.root), "LANG": "C.UTF-8", **variables}

    def _build(self) -> None:
        staging = self.root.with_name(f"{self.root.name}.building-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        mirror = os.environ.get(MIRROR_VARIABLE) or DEFAULT_MIRROR
        print(f"building the arm64 python3.13 root in {self.root} (Debian {SUITE}, {mirror})")
        _run(
            "mmdebstrap",
            "--quiet",
            "--arch=arm64",
            "--variant=extract",  # unpack the packages; no maintainer scripts run
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(staging),
            mirror,
        )
        for directory in ("lib", "bin", "sbin"):  # merged /usr, as the packages expect
            link = staging / directory
            if not link.exists() and not link.is_symlink():
                link.symlink_to(f"usr/{directory}")
        _compile_standard_library(staging)
        (staging / READY_MARKER).write_text(f"{SUITE} {' '.join(PACKAGES)} {mirror}\n")
        previous = self.root.with_name(f"{self.root.name}.previous-{os.getpid()}")
        if self.root.exists() or self.root.is_symlink():
            self.root.rename(previous)
        staging.rename(self.root)
        shutil.rmtree(previous, ignore_errors=True)


def _compile_standard_library(root: Path) -> None:
    """Bytecode for the root's standard library, as Lambda's runtime has it (extract runs no
    maintainer script, which would compile it). A host 3.13 writes the same bytecode in a
    fraction of the emulated time; the root's own interpreter does it otherwise."""
    library = root / "usr" / "lib" / "python3.13"
    host = bundling.python_313()
    if host is not None:
        _run(
            str(host),
            *("-m", "compileall", "-q", "-j", "0"),
            *("-s", str(root), "-p", "/", str(library)),
            check=False,  # a few test modules do not compile; nothing imports them
        )
        return
    python = Arm64Python(root)
    _run(
        *python.command("-m", "compileall", "-q", "/usr/lib/python3.13"),
        env=python.environment({"PATH": os.environ.get("PATH", "")}),
        check=False,
    )


def ensure_host_tools() -> None:
    """mmdebstrap and qemu-user-static, installed with apt-get when missing (as root only)."""
    missing = [package for tool, package in HOST_TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise Arm64PythonUnavailable(
            f"install {' and '.join(missing)} (Debian packages) to run the bundles on arm64"
        )
    print(f"installing {', '.join(missing)} with apt-get")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)
    if _run(*install, env=environment, check=False).returncode != 0:
        _run("apt-get", "update", "-qq", env=environment)
        _run(*install, env=environment)


def _run(
    *command: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    found = subprocess.run(  # noqa: S603 - fixed tools, our arguments
        command, env=env, capture_output=True, text=True, check=False
    )
    if check and found.returncode != 0:
        sys.stderr.write(found.stdout[-3000:] + found.stderr[-3000:])
        raise Arm64PythonUnavailable(f"{command[0]} failed with exit status {found.returncode}")
    return found
