"""The empty and the large data set side by side (pure, but for reading a process's peak memory).

``just load --data large`` runs the same steps on the stack as it starts (the demo catalog and
the load's own writes) and again after a bulk seed (``emulator.bulk_seed``). Per route: p50, p95
and p99 on each set, the ratio of the p50s against the target, and whether both are within the
route's SLO; and the peak resident memory of the emulator and the gateway on each set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from libs.resources.slo import SLO, ServiceLevelObjectives
from loadtests.slo_gate import RouteStats, route_key

# The large set's p50 of a route may be at most this many times its p50 on the empty set.
TARGET_P50_RATIO: Final = 1.3


@dataclass(frozen=True, slots=True)
class PeakMemory:
    """The most resident memory each process had held by then, in MiB (None: not measured)."""

    emulator_mib: float | None
    gateway_mib: float | None
    same_process: bool = False  # moto ran inside the gateway's process


def peak_rss_mib(pid: int | None) -> float | None:
    """A process's peak resident set size so far (Linux ``VmHWM``), in MiB."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def comparison_document(
    empty: Sequence[RouteStats],
    large: Sequence[RouteStats],
    *,
    seed: Mapping[str, Any],
    memory: Mapping[str, PeakMemory],
    slo: ServiceLevelObjectives = SLO,
    target_ratio: float = TARGET_P50_RATIO,
) -> dict[str, Any]:
    """Per route: both sets' percentiles, the p50 ratio, and the verdicts; the seed; memory."""
    by_name = {row.route: row for row in empty}
    routes = []
    for row in large:
        before = by_name.get(row.route)
        objective = slo.latency_of(route_key(row.route))
        ratio = row.p50_ms / before.p50_ms if before and before.p50_ms else None
        routes.append(
            {
                "route": row.route,
                "objective": {"p95_ms": objective.p95_ms, "p99_ms": objective.p99_ms},
                "empty": _percentiles(before),
                "large": _percentiles(row),
                "p50_ratio": round(ratio, 2) if ratio is not None else None,
                "ratio_within_target": ratio is not None and ratio <= target_ratio,
                "within_slo": all(
                    stats is not None
                    and stats.p95_ms <= objective.p95_ms
                    and stats.p99_ms <= objective.p99_ms
                    for stats in (before, row)
                ),
            }
        )
    return {
        "target_p50_ratio": target_ratio,
        "seed": dict(seed),
        "routes": routes,
        "peak_memory_mib": {
            name: {
                "emulator": _rounded(peak.emulator_mib),
                "gateway": _rounded(peak.gateway_mib),
                "same_process": peak.same_process,
            }
            for name, peak in memory.items()
        },
        "passed": bool(routes)
        and all(route["ratio_within_target"] and route["within_slo"] for route in routes),
    }


def comparison_markdown(document: Mapping[str, Any]) -> str:
    """The comparison as a Markdown section for ``summary.md``."""
    seed = document["seed"]
    ratio = document["target_p50_ratio"]
    lines = [
        "## Empty and large data set",
        "",
        f"The same steps before and after a bulk seed of {seed['orders']:,} orders, "
        f"{seed['users']:,} users and {seed['products']:,} products ({seed['items']:,} items, "
        f"written in {seed['seconds']:.0f} s, {seed['items_per_second']:,.0f} items/s). "
        f"Target: each route's p50 on the large set ≤ {ratio} times its p50 on the empty set, and "
        "every route within its SLO on both.",
        "",
        "| route | empty p50 / p95 / p99 ms | large p50 / p95 / p99 ms | p50 ratio | SLO p95 / p99 "
        "| verdict |",
        "|---|---|---|---|---|---|",
    ]
    for route in document["routes"]:
        objective = route["objective"]
        verdict = []
        if not route["ratio_within_target"]:
            verdict.append(f"ratio > {ratio}")
        if not route["within_slo"]:
            verdict.append("over SLO")
        shown_ratio = f"{route['p50_ratio']:.2f}" if route["p50_ratio"] is not None else "-"
        lines.append(
            f"| {route['route']} | {_shown(route['empty'])} | {_shown(route['large'])} "
            f"| {shown_ratio} | {objective['p95_ms']} / {objective['p99_ms']} "
            f"| {', '.join(verdict) or 'ok'} |"
        )
    lines += ["", "Peak resident memory (VmHWM, MiB), as each set ended:", ""]
    lines += ["| data set | emulator | gateway |", "|---|---|---|"]
    for name, peak in document["peak_memory_mib"].items():
        emulator = "in the gateway" if peak["same_process"] else _mib(peak["emulator"])
        lines.append(f"| {name} | {emulator} | {_mib(peak['gateway'])} |")
    outcome = "PASS" if document["passed"] else "FAIL"
    lines += ["", f"{outcome}: p50 ratio ≤ {ratio} and within SLO on every route."]
    return "\n".join(lines) + "\n"


def _percentiles(stats: RouteStats | None) -> dict[str, float] | None:
    if stats is None:
        return None
    return {
        "requests": stats.requests,
        "p50_ms": stats.p50_ms,
        "p95_ms": stats.p95_ms,
        "p99_ms": stats.p99_ms,
    }


def _shown(percentiles: Mapping[str, float] | None) -> str:
    if percentiles is None:
        return "-"
    return (
        f"{percentiles['p50_ms']:.1f} / {percentiles['p95_ms']:.0f} / {percentiles['p99_ms']:.0f}"
    )


def _mib(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
