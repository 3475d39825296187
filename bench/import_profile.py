"""Where a handler's import time goes: ``python -X importtime``, repeated, as a tree of packages.

``uv run python -m bench.import_profile services.orders.handler bench.baseline.orders`` imports
each module in fresh interpreters (with a Lambda-like environment, no AWS call is made) and prints
the median self time per top-level package and the heaviest modules, cumulative and self.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.deployable import sites_by_variant
from bench.probe import SITE

ROOT = Path(__file__).resolve().parent.parent
_LINE = re.compile(
    r"^import time:\s+(?P<self>\d+) \|\s+(?P<cumulative>\d+) \|(?P<indent> +)(?P<name>\S+)"
)
# Enough for a handler's import to run without the emulator: nothing is called at import time.
_PLACEHOLDERS = {
    "TABLE_NAME": "bench",
    "USER_POOL_ID": "us-east-1_bench",
    "USER_POOL_CLIENT_ID": "bench",
    "EVENT_BUS_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}


@dataclass(frozen=True, slots=True)
class ImportedModule:
    """One line of ``-X importtime``: microseconds in the module alone and with its imports."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(text: str) -> list[ImportedModule]:
    """The modules ``-X importtime`` reported on stderr, in the order it printed them."""
    found = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            found.append(
                ImportedModule(
                    name=match["name"],
                    self_us=int(match["self"]),
                    cumulative_us=int(match["cumulative"]),
                    depth=(len(match["indent"]) - 1) // 2,
                )
            )
    return found


def self_time_by_package(modules: list[ImportedModule]) -> dict[str, int]:
    """Microseconds of self time per top-level package (``botocore.client`` counts for botocore)."""
    totals: dict[str, int] = {}
    for module in modules:
        package = module.name.split(".")[0]
        totals[package] = totals.get(package, 0) + module.self_us
    return totals


def importtime_of(module: str, environment: dict[str, str]) -> list[ImportedModule]:
    """One fresh interpreter importing ``module``."""
    # As the probes do: third-party code only from the variant's bundle-like site-packages.
    code = f"import bench.probe as probe; probe.use_bundle_site(); import {module}"
    done = subprocess.run(  # noqa: S603 - our interpreter importing our module
        [sys.executable, "-X", "importtime", "-c", code],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_importtime(done.stderr)


def profile(module: str, runs: int, environment: dict[str, str]) -> str:
    """A report of the median import cost of ``module`` over ``runs`` interpreters."""
    samples = [importtime_of(module, environment) for _ in range(runs)]
    packages: dict[str, list[int]] = {}
    modules: dict[str, list[tuple[int, int]]] = {}
    for sample in samples:
        for package, us in self_time_by_package(sample).items():
            packages.setdefault(package, []).append(us)
        for m in sample:
            modules.setdefault(m.name, []).append((m.self_us, m.cumulative_us))
    total = statistics.median(sum(m.self_us for m in sample) for sample in samples)
    lines = [f"{module}: {total / 1000:.0f} ms in imports (median of {runs})", "", "by package:"]
    by_package = sorted(packages.items(), key=lambda kv: -statistics.median(kv[1]))
    for package, values in by_package[:20]:
        lines.append(f"  {statistics.median(values) / 1000:7.1f} ms  {package}")
    lines += ["", "heaviest modules (self ms, cumulative ms):"]
    medians = {
        name: (
            statistics.median(s for s, _ in values),
            statistics.median(c for _, c in values),
        )
        for name, values in modules.items()
    }
    for name, (own, cumulative) in sorted(medians.items(), key=lambda kv: -kv[1][0])[:25]:
        lines.append(f"  {own / 1000:7.1f} {cumulative / 1000:7.1f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_profile", description=__doc__)
    parser.add_argument("modules", nargs="+", help="e.g. services.orders.handler")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per module")
    args = parser.parse_args(argv)
    sites = sites_by_variant(ROOT / ".local" / "bench-sites")
    for module in args.modules:
        variant = "baseline" if module.startswith("bench.baseline") else "ours"
        environment = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            **_PLACEHOLDERS,
            "PYTHONPATH": str(ROOT),
            SITE: sites[variant],
        }
        print(profile(module, args.runs, environment), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
