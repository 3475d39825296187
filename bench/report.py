"""The bench's results as JSON, a markdown table and a chart, with ratios and the targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.probe import ENDPOINTS
from bench.stats import ratio

ROUTE_OF = {
    "post_order": "POST /orders",
    "get_order": "GET /orders/{orderId}",
    "list_orders": "GET /orders",
    "get_me": "GET /users/me",
}
BUNDLE_LIMIT_MB = 10


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """ours/baseline and ours/floor, and the overhead above the floor, at p50 and p99."""
    cold = results["cold"]
    found: dict[str, Any] = {
        "cold": {
            service: ratio(cold[f"ours {service}"]["median"], cold[f"baseline {service}"]["median"])
            for service in ("orders", "users")
        },
        "warm": {},
    }
    latency = results["warm"]["latency"]
    for endpoint in ENDPOINTS:
        ours, base, floor = (latency[v][endpoint] for v in ("ours", "baseline", "floor"))
        found["warm"][endpoint] = {
            q: {
                "ours/baseline": ratio(ours[q], base[q]),
                "ours/floor": ratio(ours[q], floor[q]),
                "overhead ours/baseline": ratio(ours[q] - floor[q], base[q] - floor[q]),
            }
            for q in ("p50", "p99")
        }
    return found


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 6 with its measured value and whether it is met."""
    found = results["ratios"]
    rows = []
    for service, value in found["cold"].items():
        rows.append(_target(f"cold init {service} ≤ 0.8x baseline", value, 0.8))
    for endpoint in ENDPOINTS:
        warm = found["warm"][endpoint]["p50"]
        route = ROUTE_OF[endpoint]
        rows.append(
            _target(
                f"{route} overhead above floor ≤ 0.25x baseline's (p50)",
                warm["overhead ours/baseline"],
                0.25,
            )
        )
        rows.append(_target(f"{route} ≤ 1.10x floor (p50)", warm["ours/floor"], 1.10))
    rows.append(
        _target(
            "GET /users/me ≤ 0.6x baseline (p50)",
            found["warm"]["get_me"]["p50"]["ours/baseline"],
            0.6,
        )
    )
    for name, bundle in results["bundles"]["functions"].items():
        rows.append(
            _target(
                f"bundle {name} ≤ {BUNDLE_LIMIT_MB} MB unzipped",
                bundle["ours"]["mb"],
                BUNDLE_LIMIT_MB,
            )
        )
    return rows


def _target(name: str, value: float | None, limit: float) -> dict[str, Any]:
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "met": value is not None and value <= limit,
    }


def markdown(results: dict[str, Any]) -> str:
    """The tables the README shows."""
    cold, latency = results["cold"], results["warm"]["latency"]
    lines = [
        f"Measured {results['measured_at']} on {results['machine']}; "
        f"{results['settings']['cold_runs']} cold starts per handler, "
        f"{results['settings']['invocations']} warm invocations per endpoint and implementation.",
        "",
        "**Cold init** (fresh interpreter to first response, ms)",
        "",
        "| handler | median | p95 | ours / baseline |",
        "|---|---:|---:|---:|",
    ]
    for name, row in cold.items():
        service = name.split()[-1]
        shown = results["ratios"]["cold"].get(service) if name.startswith("ours") else None
        lines.append(
            f"| {name} | {row['median']} | {row['p95']} | {shown if shown is not None else ''} |"
        )
    lines += [
        "",
        "**Warm latency** (in-process invocation against the emulator, ms: p50 / p95 / p99)",
        "",
        "| endpoint | ours | baseline | floor (raw aiobotocore) "
        "| ours / baseline | ours / floor | overhead ours / baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint in ENDPOINTS:
        cells = [
            " / ".join(f"{latency[v][endpoint][q]:.2f}" for q in ("p50", "p95", "p99"))
            for v in ("ours", "baseline", "floor")
        ]
        r = results["ratios"]["warm"][endpoint]["p50"]
        lines.append(
            f"| {ROUTE_OF[endpoint]} | {' | '.join(cells)} | {r['ours/baseline']} | "
            f"{r['ours/floor']} | {r['overhead ours/baseline']} |"
        )
    lines += [
        "",
        "**Bundles** (unzipped)",
        "",
        "| function | ours MB | ours files | naive MB | naive files | ours / naive |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, bundle in results["bundles"]["functions"].items():
        ours, naive = bundle["ours"], bundle["naive"]
        lines.append(
            f"| {name} | {ours['mb']} | {ours['files']} | {naive['mb']} | {naive['files']} "
            f"| {bundle['ratio']} |"
        )
    lines += ["", "**Targets**", "", "| target | measured | met |", "|---|---:|:---:|"]
    lines += [
        f"| {t['target']} | {t['value']} | {'yes' if t['met'] else 'no'} |"
        for t in results["targets"]
    ]
    same = results["warm"]["same_responses"]
    lines += ["", f"Same responses (ours vs baseline): {same}"]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    """Warm p50/p99 per endpoint and cold-init medians, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latency = results["warm"]["latency"]
    figure, (warm_axis, cold_axis) = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.27
    colors = {"ours": "#2b7bb9", "baseline": "#d95f02", "floor": "#7f7f7f"}
    for index, variant in enumerate(("ours", "baseline", "floor")):
        xs = [i + (index - 1) * width for i in range(len(ENDPOINTS))]
        p50 = [latency[variant][e]["p50"] for e in ENDPOINTS]
        p99 = [latency[variant][e]["p99"] for e in ENDPOINTS]
        warm_axis.bar(xs, p50, width, label=f"{variant} p50", color=colors[variant])
        warm_axis.scatter(xs, p99, marker="_", s=200, color="black", zorder=3)
    warm_axis.set_xticks(range(len(ENDPOINTS)), [ROUTE_OF[e] for e in ENDPOINTS], fontsize=8)
    warm_axis.set_ylabel("ms (bar p50, tick p99)")
    warm_axis.set_title("Warm latency per invocation")
    warm_axis.legend(fontsize=8)
    cold = results["cold"]
    names = list(cold)
    cold_axis.barh(
        names,
        [cold[n]["median"] for n in names],
        color=[colors["floor"] if n.startswith("floor") else colors[n.split()[0]] for n in names],
    )
    cold_axis.set_xlabel("ms to first response (median)")
    cold_axis.set_title("Cold init")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict[str, Any], directory: Path) -> None:
    """latest.json, latest.md and latest.png in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / "latest.md").write_text(markdown(results))
    chart(results, directory / "latest.png")
