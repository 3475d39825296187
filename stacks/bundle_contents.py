"""What a Lambda bundle holds, and the steps that make it from an untrimmed install.

Both bundling paths run this one implementation: local bundling (``stacks/bundling.py``)
imports it, and the Docker fallback runs this file as a script in the Lambda build image after
``pip install --target``. So it uses the standard library only and imports nothing from the
project::

    python stacks/bundle_contents.py <install> <output> --root <project> --package orders \\
        --aws-service dynamodb --aws-service events [--compile]

trims ``<install>`` in place (``trim_dependencies``), then writes the bundle of
``services/orders`` into ``<output>`` (``assemble_bundle``); ``--compile`` precompiles with the
interpreter running the script.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

# Where Lambda unpacks the bundle: compiled files name their sources under it.
TASK_ROOT = "/var/task"

# The Powertools utilities that libs/ and services/ import; the others (parser, idempotency,
# batch, parameters, feature_flags, ...) are left out. tests/infra/test_bundling.py fails when a
# handler's import graph reaches a module left out: a newly used utility is added here.
POWERTOOLS_UTILITIES = ("data_classes", "jmespath_utils", "typing")
# The X-Ray SDK patches libraries by importing ``aws_xray_sdk.ext.<name>``; the patches kept are
# those of the libraries a bundle ships (found in the install) and of these standard modules.
XRAY_STANDARD_LIBRARY_PATCHES = ("httplib", "sqlite3")

# Parts of the dependencies no function uses at run time (globs relative to the install).
_NEVER_SHIPPED = (
    "bin",
    ".lock",  # uv's lock of the --target directory
    "*-stubs",  # type stubs (wrapt-stubs)
    # Swagger UI's assets (1.7 MB): served only by enable_swagger(), which no function calls.
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.*",
    # Test suites and test support of the dependencies.
    "*/tests",
    "aiohttp/test_utils.py",
    "aiohttp/pytest_plugin.py",
    "multidict/_testcapi.*",
    # aiohttp is aiobotocore's HTTP client here: its server side is imported only for type
    # checking and by the Gunicorn worker (which needs gunicorn, not shipped).
    "aiohttp/web.py",
    "aiohttp/web_*.py",
    "aiohttp/worker.py",
    # aiohttp's compiled WebSocket reader: no function opens a WebSocket, and aiohttp imports
    # it optionally, falling back to its pure-Python reader.
    "aiohttp/_websocket/reader_c.*",
    # urllib3's integrations with packages no bundle has (pyOpenSSL, PySocks); botocore
    # imports pyopenssl optionally and falls back to the standard ssl module.
    "urllib3/contrib/pyopenssl.py",
    "urllib3/contrib/socks.py",
    # dateutil's own time-zone database, read only by dateutil.tz.gettz() for a zone the
    # system lacks: nothing shipped calls gettz (Powertools' feature flags, which do, are out).
    "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz",
    # cffi's Python side and pycparser generate bindings at build time: cryptography's compiled
    # module loads only cffi's backend (``_cffi_backend``), which stays.
    "cffi",
    "pycparser",
)
# Dependencies only functions that seal or open personal fields import (libs/sealed_fields.py,
# AES-GCM from cryptography; its Rust binding loads cffi's backend): shipped only in the bundles
# of functions that call KMS, the one service they are needed for. Globs on the install's top.
SEALING_DEPENDENCIES = (
    "cryptography",
    "cryptography-*.dist-info",
    "_cffi_backend.*",
    "cffi-*.dist-info",
    "pycparser-*.dist-info",
)
SEALING_SERVICE = "kms"
# Build inputs, type stubs and markers that wheels carry along: never imported.
_NEVER_SHIPPED_SUFFIXES = (".pyi", ".pyx", ".pxd", ".pxi", ".c", ".h")
_NEVER_SHIPPED_NAMES = ("py.typed",)
# What pip needs to uninstall or audit an install (RECORD lists files trimmed away here); the
# licences, NOTICE files, entry points and METADATA's headers (name, version, licence,
# requirements: all importlib.metadata reads) stay. METADATA's body, the project description
# (a README, sometimes a changelog: 300 KB in all), is left out.
_INSTALL_RECORDS = ("RECORD", "INSTALLER", "REQUESTED")
_BOTOCORE_DATA = Path("botocore") / "data"
_ENDPOINTS = "endpoints.json"
_SERVICE_MODEL = "service-2.json.gz"
# A service model's documentation strings (70-90% of it) feed only docstrings and help, yet
# every cold start parses them: ~3 ms for DynamoDB's model, ~5 ms for Cognito's. Bundles ship
# the models without them, as plain JSON (botocore reads ``service-2.json`` first): no gunzip
# at run time, and the same bytes whichever zlib builds the bundle.
MODEL_DOCUMENTATION_KEYS = ("documentation", "documentationUrl")
# Part of the cached install's key: a changed rule re-trims it (and changes the asset hashes).
TRIMMING_RULES = repr(
    (
        POWERTOOLS_UTILITIES,
        XRAY_STANDARD_LIBRARY_PATCHES,
        _NEVER_SHIPPED,
        _NEVER_SHIPPED_SUFFIXES,
        _NEVER_SHIPPED_NAMES,
        _INSTALL_RECORDS,
        MODEL_DOCUMENTATION_KEYS,
        SEALING_DEPENDENCIES,
    )
)


def trim_dependencies(install: Path, compiler: Path | None) -> None:
    """Trim an install of the runtime dependencies in place; with a ``compiler``, the
    dependencies then ship as bytecode instead of sources."""
    prune_dependencies(install)
    if compiler:
        precompile_sourceless(compiler, install)


def prune_dependencies(site: Path) -> None:
    """Trim an install to what the functions run: the rules above, nothing decided per file.

    uv hard-links installed files to its cache, so a file is replaced, never written in place.
    """
    for pattern in _NEVER_SHIPPED:
        for path in list(site.glob(pattern)):
            _remove(path)
    for path in list(site.rglob("*")):
        if path.is_file() and (
            path.suffix in _NEVER_SHIPPED_SUFFIXES or path.name in _NEVER_SHIPPED_NAMES
        ):
            path.unlink()
        elif path.is_dir() and path.name == "__pycache__":  # bytecode of the installer's Python
            shutil.rmtree(path)
    for record in _INSTALL_RECORDS:
        for path in site.glob(f"*.dist-info/{record}"):
            path.unlink()
    for metadata in site.glob("*.dist-info/METADATA"):
        headers, separator, _ = metadata.read_bytes().partition(b"\n\n")
        if separator:
            _replace(metadata, headers + b"\n")
    utilities = site / "aws_lambda_powertools" / "utilities"
    for path in list(utilities.iterdir()) if utilities.is_dir() else []:
        if path.name != "__init__.py" and path.name.split(".")[0] not in POWERTOOLS_UTILITIES:
            _remove(path)
    patches = site / "aws_xray_sdk" / "ext"
    shipped = {p.name.split(".")[0] for p in site.iterdir()} | set(XRAY_STANDARD_LIBRARY_PATCHES)
    for path in list(patches.iterdir()) if patches.is_dir() else []:
        if (path / "__init__.py").is_file() and path.name not in shipped:
            shutil.rmtree(path)
    for extension in site.rglob("*.so"):
        strip_native_extension(extension)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# ELF64 (little-endian) header fields and section flags used below.
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SHF_ALLOC = 0x2
_SHF_INFO_LINK = 0x40
_SHT_RELA, _SHT_NOBITS, _SHT_REL = 4, 8, 9
_SHN_LORESERVE = 0xFF00
_ET_DYN = 3


def strip_native_extension(path: Path) -> bool:
    """Drop the sections of a shared object that are never loaded (debug information, the
    static symbol table, comments), like ``strip``: the loaded segments stay byte for byte.

    Returns whether the file changed; anything but a plain little-endian ELF64 is left alone.
    """
    original = path.read_bytes()
    stripped = unloaded_sections_removed(original)
    if stripped is None or len(stripped) >= len(original):
        return False
    _replace(path, stripped)
    return True


def _replace(path: Path, content: bytes) -> None:
    # A new inode: uv's cache, hard-linked to the installed original, stays untouched.
    replacement = path.with_name(f".{path.name}.new")
    replacement.write_bytes(content)
    replacement.chmod(path.stat().st_mode)
    replacement.replace(path)


def unloaded_sections_removed(elf: bytes) -> bytes | None:
    """``elf`` with only its allocated sections and their names; None when it is not a plain
    ELF64 little-endian shared object with the usual layout (unloaded sections at the end)."""
    if len(elf) < _ELF_HEADER.size or elf[:4] != b"\x7fELF" or elf[4:6] != b"\x02\x01":
        return None
    header = _ELF_HEADER.unpack_from(elf)
    kind, phoff, shoff = header[1], header[5], header[6]
    phentsize, phnum, shentsize, shnum, shstrndx = header[9:14]
    if (
        kind != _ET_DYN
        or phentsize != _PROGRAM_HEADER.size
        or shentsize != _SECTION_HEADER.size
        or not 0 < shstrndx < shnum < _SHN_LORESERVE
        or shoff + shnum * shentsize > len(elf)
    ):
        return None
    sections = [
        list(_SECTION_HEADER.unpack_from(elf, shoff + index * shentsize)) for index in range(shnum)
    ]
    loaded_end = _loaded_end(elf, phoff, phnum, sections)
    # What goes must lie past everything loaded, so no loaded byte moves.
    if loaded_end is None or shoff < loaded_end:
        return None
    kept = [i for i, s in enumerate(sections) if i == 0 or s[2] & _SHF_ALLOC]
    names_offset, names_size = sections[shstrndx][4], sections[shstrndx][5]
    old_names = elf[names_offset : names_offset + names_size]
    names = bytearray(b"\0")
    renumbered = {old: new for new, old in enumerate([*kept, shstrndx])}
    headers = []
    for old in [*kept, shstrndx]:
        section = sections[old]
        name = old_names[section[0] : old_names.index(b"\0", section[0])]
        section[0] = len(names) if name else 0
        names += name + b"\0" if name else b""
        for field, is_index in ((6, True), (7, _info_is_a_section(section))):
            if is_index and section[field]:
                if section[field] not in renumbered:
                    return None
                section[field] = renumbered[section[field]]
        headers.append(section)
    out = bytearray(elf[:loaded_end])
    headers[-1][4], headers[-1][5] = len(out), len(names)  # the names follow the loaded part
    out += names
    out += bytes(-len(out) % 8)
    struct.pack_into("<Q", out, 0x28, len(out))
    struct.pack_into("<HH", out, 0x3C, len(headers), len(headers) - 1)
    out += b"".join(_SECTION_HEADER.pack(*section) for section in headers)
    return bytes(out)


def _loaded_end(elf: bytes, phoff: int, phnum: int, sections: list[list[int]]) -> int | None:
    # The end of what the loader maps (program headers, segments, allocated sections); None
    # when an unloaded section with content lies before it.
    end = phoff + phnum * _PROGRAM_HEADER.size
    for index in range(phnum):
        segment = _PROGRAM_HEADER.unpack_from(elf, phoff + index * _PROGRAM_HEADER.size)
        end = max(end, segment[2] + segment[5])
    for _, kind, flags, _, offset, size, *_ in sections:
        if flags & _SHF_ALLOC and kind != _SHT_NOBITS:
            end = max(end, offset + size)
    for index, (_, kind, flags, _, offset, size, *_) in enumerate(sections):
        if index and not flags & _SHF_ALLOC and kind != _SHT_NOBITS and size and offset < end:
            return None
    return end if end <= len(elf) else None


def _info_is_a_section(section: list[int]) -> bool:
    return section[1] in (_SHT_REL, _SHT_RELA) or bool(section[2] & _SHF_INFO_LINK)


def precompile(interpreter: Path, tree: Path, root: Path) -> None:
    """Compile every module under ``tree`` (paths recorded as under /var/task): Lambda's file
    system is read-only, so a bundle without bytecode compiles its imports on every cold start."""
    run_command(
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
    run_command(
        *(str(interpreter), "-m", "compileall", "-q", "-b", "-j", "0"),
        *("--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", TASK_ROOT, str(tree)),
        check=False,
    )
    for source in tree.rglob("*.py"):
        if source.with_suffix(".pyc").is_file():
            source.unlink()


def run_command(
    *command: str, check: bool = True, cwd: Path | None = None
) -> CompletedProcess[str]:
    """Run a tool (never through a shell) and capture its output."""
    # Our own tools with our own paths as arguments.
    return subprocess.run(  # noqa: S603
        command, cwd=cwd, capture_output=True, text=True, check=check, timeout=600
    )


def assemble_bundle(
    output: Path,
    install: Path,
    root: Path,
    package: str,
    aws_services: Sequence[str],
    compiler: Path | None,
) -> None:
    """Write into ``output`` the bundle of ``services/<package>`` under ``root``: the trimmed
    ``install`` with botocore's data for ``aws_services`` only, ``libs/`` and the package."""
    shutil.copytree(
        install,
        output,
        ignore=_install_filter(install, aws_services),
        copy_function=_link_or_copy,
        dirs_exist_ok=True,
    )
    data = output / _BOTOCORE_DATA
    endpoints = data / _ENDPOINTS
    endpoints.unlink(missing_ok=True)  # never write through a hard link into the cache
    endpoints.write_bytes(endpoints_of(install, aws_services))
    for service in aws_services:
        for model in (data / service).glob(f"*/{_SERVICE_MODEL}"):
            undocumented = model_without_documentation(model.read_bytes())
            model.unlink()  # a hard link into the cache: never written through
            model.with_suffix("").write_bytes(undocumented)
    code = _code_ignore()
    shutil.copytree(root / "libs", output / "libs", ignore=code, dirs_exist_ok=True)
    (output / "services").mkdir(exist_ok=True)
    shutil.copy2(root / "services" / "__init__.py", output / "services" / "__init__.py")
    shutil.copytree(
        root / "services" / package, output / "services" / package, ignore=code, dirs_exist_ok=True
    )
    if compiler:
        for tree in ("libs", "services"):
            precompile(compiler, output / tree, output)


def _link_or_copy(source: str, destination: str) -> Any:
    # Hard links make a bundle of ~2,000 dependency files nearly free; across file systems, copy.
    try:
        os.link(source, destination)
    except OSError:
        return shutil.copy2(source, destination)
    return destination


def _code_ignore() -> Callable[[str, list[str]], Iterable[str]]:
    return shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def _install_filter(
    site: Path, services: Sequence[str]
) -> Callable[[str, list[str]], Iterable[str]]:
    """What of the install a function calling ``services`` does not get: other services'
    botocore data, and the sealing dependencies unless it calls KMS."""
    botocore_data = _botocore_data_filter(site, services)
    sealing = () if SEALING_SERVICE in services else SEALING_DEPENDENCIES

    def ignore(directory: str, names: list[str]) -> Iterable[str]:
        if Path(directory) == site and sealing:
            return [n for n in names if any(fnmatch.fnmatch(n, glob) for glob in sealing)]
        return botocore_data(directory, names)

    return ignore


def _botocore_data_filter(
    site: Path, services: Sequence[str]
) -> Callable[[str, list[str]], Iterable[str]]:
    """Skip botocore's data of services the function does not call, older API versions and
    documentation examples (about 27 MB of the 29 MB botocore ships), and the endpoints file,
    which the bundle gets trimmed (``endpoints_of``)."""
    data = site / _BOTOCORE_DATA
    keep = set(services)

    def ignore(directory: str, names: list[str]) -> Iterable[str]:
        path = Path(directory)
        if path == data:
            skipped = [n for n in names if (path / n).is_dir() and n not in keep]
            return [*skipped, _ENDPOINTS]
        if path.parent == data:  # a service: keep only its newest API version
            versions = sorted(n for n in names if (path / n).is_dir())
            return versions[:-1]
        if path.parent.parent == data:
            return [n for n in names if n.startswith("examples-")]
        return []

    return ignore


def model_without_documentation(model: bytes) -> bytes:
    """A service model as botocore ships it (``service-2.json.gz``), as plain JSON without its
    documentation strings; everything botocore reads at run time stays as it was."""

    def undocumented(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: undocumented(value)
                for key, value in node.items()
                # Only string values: a shape may have a *member* named "documentation".
                if not (key in MODEL_DOCUMENTATION_KEYS and isinstance(value, str))
            }
        if isinstance(node, list):
            return [undocumented(value) for value in node]
        return node

    document = undocumented(json.loads(gzip.decompress(model)))
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def endpoints_of(site: Path, services: Sequence[str]) -> bytes:
    """botocore's ``endpoints.json`` with the endpoints of ``services`` only (1.2 MB → a few
    KB): every partition, its regions and defaults stay; clients resolve by endpoint prefix."""
    data = site / _BOTOCORE_DATA
    prefixes = {_endpoint_prefix(data / service) for service in services}
    endpoints = json.loads((data / _ENDPOINTS).read_bytes())
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: entry for name, entry in partition["services"].items() if name in prefixes
        }
    return json.dumps(endpoints, separators=(",", ":"), sort_keys=True).encode()


def _endpoint_prefix(service: Path) -> str:
    newest = sorted(p for p in service.iterdir() if p.is_dir())[-1]
    model = newest / "service-2.json.gz"
    raw = (
        gzip.decompress(model.read_bytes())
        if model.is_file()
        else model.with_suffix("").read_bytes()
    )
    prefix: str = json.loads(raw)["metadata"]["endpointPrefix"]
    return prefix


def script_arguments(
    install: str,
    output: str,
    root: str,
    package: str,
    aws_services: Sequence[str],
    *,
    compile_bytecode: bool,
) -> list[str]:
    """The arguments of this script that bundle ``package`` (the inverse of its parser)."""
    services = [argument for service in aws_services for argument in ("--aws-service", service)]
    compiling = ["--compile"] if compile_bytecode else []
    return [install, output, "--root", root, "--package", package, *services, *compiling]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Trim an install of the runtime dependencies and write one function's bundle."
    )
    parser.add_argument("install", type=Path, help="the untrimmed pip install --target directory")
    parser.add_argument("output", type=Path, help="the bundle's directory")
    parser.add_argument("--root", type=Path, required=True, help="the project (libs/, services/)")
    parser.add_argument("--package", required=True, help="the function's package in services/")
    parser.add_argument(
        "--aws-service",
        dest="aws_services",
        action="append",
        default=[],
        help="a botocore service the function calls (repeated)",
    )
    parser.add_argument(
        "--compile", action="store_true", help="precompile with the interpreter running this"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """The Docker fallback's entry point: trim ``install``, then assemble the bundle from it."""
    arguments = _parser().parse_args(argv)
    compiler = Path(sys.executable) if arguments.compile else None
    trim_dependencies(arguments.install, compiler)
    assemble_bundle(
        arguments.output,
        arguments.install,
        arguments.root,
        arguments.package,
        tuple(arguments.aws_services),
        compiler,
    )


if __name__ == "__main__":
    main()
