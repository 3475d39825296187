"""Bundle sizes: each function's bundle as `stacks/bundling.py` builds it, against a naive one."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from libs.resources.functions import FUNCTIONS
from stacks.bundling import (
    PLATFORM,
    PYTHON_VERSION,
    BundleSpec,
    RuntimeDependencies,
    build_bundle,
    python_313,
    uv_executable,
)

MB = 1024 * 1024


def tree_stats(path: Path) -> dict[str, Any]:
    """Unzipped bytes and file count under ``path``."""
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    return {"bytes": size, "mb": round(size / MB, 2), "files": len(files)}


def zipped_mb(path: Path) -> float:
    """Size of ``path`` zipped (deflate), as the uploaded asset is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
            archive.write(file, file.relative_to(path).as_posix())
    return round(buffer.getbuffer().nbytes / MB, 2)


def naive_site(dependencies: RuntimeDependencies) -> Path:
    """The same pinned dependencies installed with ``pip install --target``: nothing trimmed."""
    target = dependencies.cache / f"naive-{dependencies.key}"
    if target.is_dir():
        return target
    uv = uv_executable()
    if uv is None:
        raise RuntimeError("uv is needed to install the naive bundle")
    staging = Path(f"{target}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(  # noqa: S603 - our own uv with our own paths
        [
            *(uv, "pip", "install", "--quiet", "--no-deps", "--require-hashes"),
            *("--only-binary", ":all:", "--python-platform", PLATFORM),
            *("--python-version", PYTHON_VERSION, "--target", str(staging)),
            *("-r", str(dependencies.requirements_file())),
        ],
        check=True,
        capture_output=True,
        cwd=dependencies.root,
    )
    staging.rename(target)
    return target


def measure_bundles() -> dict[str, Any]:
    """Per function: ours (trimmed, compiled) and naive (the same wheels, untrimmed)."""
    dependencies = RuntimeDependencies(compiler=python_313())
    naive = tree_stats(naive_site(dependencies))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, declaration in FUNCTIONS.items():
            output = Path(scratch) / name
            build_bundle(output, BundleSpec.of(declaration), dependencies)
            ours = {**tree_stats(output), "zipped_mb": zipped_mb(output)}
            code = tree_stats(output / "libs")["bytes"] + tree_stats(output / "services")["bytes"]
            naive_bytes = naive["bytes"] + code
            results[name] = {
                "ours": ours,
                "naive": {
                    "bytes": naive_bytes,
                    "mb": round(naive_bytes / MB, 2),
                    "files": naive["files"],
                },
                "ratio": round(ours["bytes"] / naive_bytes, 3),
            }
    return {"compiled_bytecode": dependencies.compiler is not None, "functions": results}
