"""Whether a bundle's native code can load on Lambda's platform: CPython 3.13 on arm64 Linux.

Read from the files alone, before anything runs: every shared object must be an ELF file for
aarch64, and every extension module's name must carry CPython 3.13's tag for aarch64 Linux or the
stable ABI's (``abi3``). A wheel resolved for the wrong platform or interpreter shows here by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

TARGET_MACHINE: Final = "aarch64"
TARGET_PYTHON: Final = "313"

# e_machine values of the ELF header (offset 18, two bytes, in the file's byte order).
_MACHINES: Final = {62: "x86_64", 183: "aarch64", 3: "i386", 40: "arm", 243: "riscv64"}
# An extension module's tag, e.g. ``_core.cpython-313-aarch64-linux-gnu.so``.
_CPYTHON_TAG: Final = re.compile(r"\.cpython-(\d+)([a-z]*)-([A-Za-z0-9_]+)-linux-gnu\.so$")


def machine_of(path: Path) -> str | None:
    """The architecture an ELF file is built for (None when the file is not ELF)."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    little = header[5] == 1  # EI_DATA: 1 little-endian, 2 big-endian
    number = int.from_bytes(header[18:20], "little" if little else "big")
    return _MACHINES.get(number, f"machine {number}")


def platform_problems(bundle: Path) -> list[str]:
    """Every native file of ``bundle`` that Lambda's python3.13 on arm64 could not load."""
    problems = []
    for path in sorted(bundle.rglob("*.so*")):
        if not path.is_file() or not re.search(r"\.so(\.\d+)*$", path.name):
            continue
        relative = path.relative_to(bundle).as_posix()
        machine = machine_of(path)
        if machine is None:
            problems.append(f"{relative}: not an ELF shared object")
            continue
        if machine != TARGET_MACHINE:
            problems.append(f"{relative}: built for {machine}, not {TARGET_MACHINE}")
        tag = _CPYTHON_TAG.search(path.name)
        if tag is not None:
            version, flags, arch = tag.groups()
            if version != TARGET_PYTHON or flags:
                problems.append(f"{relative}: an extension for cp{version}{flags}, not cp313")
            if arch != TARGET_MACHINE:
                problems.append(f"{relative}: an extension tagged {arch}, not {TARGET_MACHINE}")
    return problems
