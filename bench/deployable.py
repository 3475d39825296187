"""What each variant's Lambda bundle would hold, so the probes can import nothing else.

The development environment holds far more than a bundle (requests, moto, pytest ...), and some
libraries import whatever they find: X-Ray's ``patch_all`` imports and patches requests, httpx,
sqlite3 ... when present; botocore and aiohttp pick up optional accelerators (certifi, brotli).
Each probe variant gets a directory of links to exactly its dependency closure, and puts it on
``sys.path`` in place of the environment's site-packages, as its bundle would be.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import shutil
import tomllib
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement

from stacks.bundle_contents import endpoints_of, model_without_documentation

ROOT = Path(__file__).resolve().parent.parent
# What a conventional function of the same endpoints ships: boto3, pydantic, Powertools with
# its tracer extra (the X-Ray SDK), and cryptography to open the profile's sealed fields.
BASELINE_REQUIREMENTS = ("aws-lambda-powertools[tracer]", "boto3", "pydantic", "cryptography")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_requirements(root: Path = ROOT) -> tuple[str, ...]:
    """``[project].dependencies``: what our bundles ship."""
    with (root / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    return tuple(project["dependencies"])


def closure(requirements: Iterable[str]) -> set[str]:
    """The installed distributions ``requirements`` need, transitively (extras followed)."""
    found: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        if name in found:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here: not importable anyway
        found.add(name)
        for text in distribution.requires or ():
            needed = Requirement(text)
            wanted = requirement.extras or {""}
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in wanted
            ):
                pending.append(needed)
    return found


def site_entries(distribution: metadata.Distribution) -> set[str]:
    """The names a distribution installs directly under site-packages (its dist-info included)."""
    entries = set()
    for file in distribution.files or ():
        first = file.parts[0]
        if first not in {"..", "__pycache__"} and not first.endswith(".pth"):
            entries.add(first)
    return entries


def build_site(
    allowed: set[str], directory: Path, *, botocore_services: tuple[str, ...] | None = None
) -> Path:
    """A directory of links to the installed files of the ``allowed`` distributions only.

    ``botocore_services``: botocore's data cut down to these services, as our bundles have it
    (``stacks/bundling.py``); None keeps all of it, as a ``pip install`` does.
    """
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for distribution in metadata.distributions():
        if canonical(distribution.metadata["Name"] or "") not in allowed:
            continue
        origin = Path(str(distribution.locate_file("")))
        for entry in site_entries(distribution):
            link = directory / entry
            if not (origin / entry).exists() or link.exists():
                continue
            if entry == "botocore" and botocore_services is not None:
                trimmed_botocore(origin / entry, link, botocore_services)
            else:
                link.symlink_to(origin / entry)
    return directory


def trimmed_botocore(botocore: Path, into: Path, services: tuple[str, ...]) -> None:
    """botocore as a bundle holds it: the services' newest models without their documentation,
    a trimmed endpoints file."""

    into.mkdir()
    for entry in botocore.iterdir():
        if entry.name != "data":
            (into / entry.name).symlink_to(entry)
    data = into / "data"
    data.mkdir()
    for entry in (botocore / "data").iterdir():
        if entry.is_file() and entry.name != "endpoints.json":
            (data / entry.name).symlink_to(entry)
        elif entry.name in services:
            newest = sorted(p for p in entry.iterdir() if p.is_dir())[-1]
            version = data / entry.name / newest.name
            version.mkdir(parents=True)
            for file in newest.iterdir():
                if file.name == "service-2.json.gz":
                    model = model_without_documentation(file.read_bytes())
                    (version / "service-2.json").write_bytes(model)
                else:
                    (version / file.name).symlink_to(file)
    (data / "endpoints.json").write_bytes(endpoints_of(botocore.parent, services))


def sites_by_variant(directory: Path, root: Path = ROOT) -> dict[str, str]:
    """Each probe variant's bundle-like site-packages (each floor runs its SDK's bundle).

    Ours is built as its Lambda bundles are (botocore's data for the services the orders and
    users functions declare); the baseline as the conventional ``pip install`` (all of it).
    """
    from libs.resources.functions import FUNCTIONS

    services = tuple(
        sorted({s for name in ("orders", "users") for s in FUNCTIONS[name].aws_services})
    )
    ours = build_site(
        closure(project_requirements(root)), directory / "ours", botocore_services=services
    )
    baseline = build_site(closure(BASELINE_REQUIREMENTS), directory / "baseline")
    return {
        "ours": str(ours),
        "floor": str(ours),
        "baseline": str(baseline),
        "floor_boto3": str(baseline),
    }
