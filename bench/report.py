"""The bench's results as JSON, a markdown report and a chart: ratios, targets and the step log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.probe import ENDPOINTS
from bench.stats import ratio
from libs.resources.functions import FUNCTIONS
from loadtests.cost import route_table
from stacks.bundling import BUNDLE_BUDGET_MB, bundle_budget_mb

ROUTE_OF = {
    "post_order": "POST /orders",
    "get_order": "GET /orders/{orderId}",
    "list_orders": "GET /orders",
    "get_me": "GET /users/me",
}
SERVICES = ("orders", "users")
TRACING = ("untraced", "traced")
COLD_LIMIT = 0.8
OVERHEAD_LIMIT = 0.25
FLOOR_LIMIT = 1.10
FAN_OUT_LIMIT = 0.6
WARM_VARIANTS = ("ours", "baseline", "floor", "floor_boto3")
# How the probes reach the emulator: each is measured as a set of its own, TLS first (as AWS).
TRANSPORTS = ("tls", "http")
TRANSPORT_TITLES = {
    "tls": "over TLS (HTTPS, the local CA verified through AWS_CA_BUNDLE, as in AWS)",
    "http": "over plain HTTP",
}
_TRANSPORT_LABELS = {"tls": "TLS", "http": "plain HTTP"}


def measured_sets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each transport's figures (cold, warm, ratios); a one-transport document is its own set."""
    sets: dict[str, dict[str, Any]] | None = results.get("transports")
    if sets is None:
        return {"": results} if "cold" in results or "warm" in results else {}
    return sets


def primary_set(results: dict[str, Any]) -> dict[str, Any]:
    """The set the step log and the chart show: TLS when it was measured."""
    sets = measured_sets(results)
    return next((sets[t] for t in ("tls", "http", "") if t in sets), {})


def cold_ratios_by_transport(results: dict[str, Any]) -> dict[str, Any]:
    """The cold ours/baseline ratio per tracing and service, over each transport measured."""
    sets = measured_sets(results)
    return {
        tracing: {
            service: {
                transport: measured["ratios"]["cold"][tracing][service]
                for transport, measured in sets.items()
                if "cold" in measured.get("ratios", {})
            }
            for service in SERVICES
        }
        for tracing in TRACING
    }


def all_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every set's targets, labelled with its transport, then the bundles' (transport-free)."""
    rows = []
    for transport, measured in measured_sets(results).items():
        for row in targets(measured):
            label = _TRANSPORT_LABELS.get(transport)
            rows.append({**row, "target": f"{row['target']}, {label}" if label else row["target"]})
    bundles = {"ratios": {}, "bundles": results.get("bundles", {})}
    return rows + targets(bundles)


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Cold ours/baseline; warm ours/baseline, ours/floor and the overhead above the floor."""
    found: dict[str, Any] = {}
    cold = results.get("cold")
    if cold:
        found["cold"] = {
            tracing: {
                service: {
                    "wall": ratio(
                        cold[f"ours {service} {tracing}"]["median"],
                        cold[f"baseline {service} {tracing}"]["median"],
                    ),
                    "cpu": ratio(
                        cold[f"ours {service} {tracing}"]["cpu_median"],
                        cold[f"baseline {service} {tracing}"]["cpu_median"],
                    ),
                }
                for service in SERVICES
            }
            for tracing in TRACING
        }
    for pass_ in ("warm", "warm_latency"):
        if pass_ in results:
            found[pass_] = {e: _warm_ratios(results[pass_], e) for e in ENDPOINTS}
    return found


def _warm_ratios(warm: dict[str, Any], endpoint: str) -> dict[str, Any]:
    variants = [v for v in WARM_VARIANTS if v in warm["latency"]]
    wall = {v: warm["latency"][v][endpoint]["p50"] for v in variants}
    cpu = {v: warm["cpu"][v][endpoint]["p50"] for v in variants}
    return {
        "ours/baseline": ratio(wall["ours"], wall["baseline"]),
        "ours/floor": ratio(wall["ours"], wall["floor"]),
        # Each implementation above the raw calls of its own SDK (boto3 costs less CPU per call
        # than aiobotocore: above the aiobotocore floor the baseline's framework is hidden).
        "overhead cpu ours/baseline": _overhead_ratio(cpu, own_floors=True),
        "overhead cpu ours/baseline, shared floor": _overhead_ratio(cpu, own_floors=False),
        "overhead wall ours/baseline": _overhead_ratio(wall, own_floors=True),
        "overhead cpu ms": {
            "ours": round(cpu["ours"] - cpu["floor"], 3),
            "baseline": round(cpu["baseline"] - cpu.get("floor_boto3", cpu["floor"]), 3),
            "baseline above the aiobotocore floor": round(cpu["baseline"] - cpu["floor"], 3),
        },
    }


def _overhead_ratio(p50: dict[str, float], *, own_floors: bool) -> float | None:
    """(ours - its floor) / (baseline - its floor); None when the baseline adds nothing."""
    baseline_floor = p50.get("floor_boto3", p50["floor"]) if own_floors else p50["floor"]
    base = p50["baseline"] - baseline_floor
    if base <= 0:
        return None
    return round(max(p50["ours"] - p50["floor"], 0.0) / base, 3)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the performance issue: what it is judged on, the value, whether it is met."""
    found = results["ratios"]
    rows = []
    if "cold" in found:
        for tracing in TRACING:
            for service in SERVICES:
                value = found["cold"][tracing][service]
                label = "tracing off" if tracing == "untraced" else "X-Ray tracing on"
                rows.append(
                    _target(
                        f"cold init {service} ≤ {COLD_LIMIT}x baseline ({label})",
                        "wall-clock median, fresh process to first response",
                        value["wall"],
                        COLD_LIMIT,
                        also=f"CPU {value['cpu']}",
                    )
                )
    if "warm" in found:
        for endpoint in ENDPOINTS:
            warm = found["warm"][endpoint]
            route = ROUTE_OF[endpoint]
            ms = warm["overhead cpu ms"]
            rows.append(
                _target(
                    f"{route}: overhead above the floor ≤ {OVERHEAD_LIMIT}x the baseline's",
                    "probe CPU ms per invocation (p50) minus its own SDK's floor",
                    warm["overhead cpu ours/baseline"],
                    OVERHEAD_LIMIT,
                    also=(
                        f"{ms['ours']} vs {ms['baseline']} ms; above the aiobotocore floor "
                        f"{warm['overhead cpu ours/baseline, shared floor']}; "
                        f"wall {warm['overhead wall ours/baseline']}"
                    ),
                )
            )
            rows.append(
                _target(
                    f"{route} ≤ {FLOOR_LIMIT}x floor",
                    "wall-clock p50",
                    warm["ours/floor"],
                    FLOOR_LIMIT,
                )
            )
    if "warm_latency" in found:
        latency = results["settings"]["latency_ms"]
        rows.append(
            _target(
                f"GET /users/me ≤ {FAN_OUT_LIMIT}x baseline",
                f"wall-clock p50, {latency:g} ms per AWS call",
                found["warm_latency"]["get_me"]["ours/baseline"],
                FAN_OUT_LIMIT,
                also=f"{found['warm']['get_me']['ours/baseline']} without the wait"
                if "warm" in found
                else "",
            )
        )
    for name, bundle in results.get("bundles", {}).get("functions", {}).items():
        limit = bundle_budget_mb(FUNCTIONS[name]) if name in FUNCTIONS else BUNDLE_BUDGET_MB
        rows.append(
            _target(
                f"bundle {name} ≤ {limit} MB unzipped",
                "MB unzipped",
                bundle["ours"]["mb"],
                limit,
            )
        )
    return rows


def _target(
    name: str, basis: str, value: float | None, limit: float, *, also: str = ""
) -> dict[str, Any]:
    return {
        "target": name,
        "basis": basis,
        "value": value,
        "limit": limit,
        "met": value is not None and value <= limit,
        "also": also,
    }


def step_entry(step: str, results: dict[str, Any]) -> dict[str, Any]:
    """The figures of this run the step log keeps: cold and overhead ratios (TLS if measured)."""
    measured = primary_set(results)
    found = measured.get("ratios", {})
    entry: dict[str, Any] = {
        "step": step,
        "measured_at": results["measured_at"],
        "quick": results["settings"]["quick"],
    }
    transport = next((t for t, m in measured_sets(results).items() if m is measured), "")
    if transport:
        entry["transport"] = transport
    if "cold" in found:
        entry["cold"] = found["cold"]
        entry["cold_ms"] = {
            name: {"wall": row["median"], "cpu": row["cpu_median"]}
            for name, row in measured["cold"].items()
        }
    if "warm" in found:
        entry["overhead_cpu"] = {
            e: found["warm"][e]["overhead cpu ours/baseline"] for e in ENDPOINTS
        }
        entry["overhead_cpu_ms"] = {e: found["warm"][e]["overhead cpu ms"] for e in ENDPOINTS}
    if "warm_latency" in found:
        entry["get_me_with_latency"] = found["warm_latency"]["get_me"]["ours/baseline"]
    return entry


def read_steps(path: Path) -> list[dict[str, Any]]:
    """The step log so far (empty when there is none)."""
    if not path.exists():
        return []
    steps: list[dict[str, Any]] = json.loads(path.read_text())
    return steps


def write_steps(steps: list[dict[str, Any]], path: Path) -> None:
    """Save the step log."""
    path.write_text(json.dumps(steps, indent=2, ensure_ascii=False) + "\n")


def _cell(value: Any) -> str:
    return "n/a" if value is None else str(value)


def markdown(results: dict[str, Any]) -> str:
    """The report: targets first, then the measurements they come from, then the step log."""
    settings = results["settings"]
    lines = [
        f"Measured {results['measured_at']} on {results['machine']}"
        + (" (`--quick`: a smoke run, not numbers)" if settings["quick"] else "")
        + ".",
        "",
    ]
    if results["targets"]:
        lines += [
            "**Targets**",
            "",
            "| target | judged on | measured | met | also |",
            "|---|---|---:|:---:|---|",
        ]
        lines += [
            f"| {t['target']} | {t['basis']} | {_cell(t['value'])} | "
            f"{'yes' if t['met'] else 'no'} | {t['also']} |"
            for t in results["targets"]
        ]
        lines.append("")
    sets = measured_sets(results)
    if len([m for m in sets.values() if "cold" in m]) > 1:
        lines += _cold_both_ways_section(results)
    for transport, measured in sets.items():
        if transport:
            lines += [f"### Measured {TRANSPORT_TITLES[transport]}", ""]
        if "cold" in measured:
            lines += _cold_section(measured)
        if "warm" in measured:
            lines += _warm_section(measured, "warm", "Warm invocations")
        if "warm_latency" in measured:
            title = f"Warm invocations, {settings['latency_ms']:g} ms added to every AWS call"
            lines += _warm_section(measured, "warm_latency", title)
    if "sealing" in results:
        lines += _sealing_section(results["sealing"])
    if results.get("cost", {}).get("routes"):
        lines += _cost_section(results["cost"])
    if results.get("bundles", {}).get("functions"):
        lines += _bundle_section(results)
    if results.get("steps"):
        lines += _step_section(results["steps"])
    lines += _method_section(settings)
    return "\n".join(lines) + "\n"


def _cold_section(results: dict[str, Any]) -> list[str]:
    cold, found = results["cold"], results["ratios"]["cold"]
    lines = [
        f"**Cold init**: fresh interpreter to first response, "
        f"{results['settings']['cold_runs']} runs per handler, interleaved (ms)",
        "",
        "| handler | tracing | wall median | wall p95 | CPU median | ours / baseline wall | "
        "ours / baseline CPU | AWS subsegments sent | failed answers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in cold.items():
        variant, *rest = name.split()
        tracing = rest[-1] if rest and rest[-1] in TRACING else ""
        service = rest[0] if rest else ""
        shown = found.get(tracing, {}).get(service) if variant == "ours" else None
        lines.append(
            f"| {name.removesuffix(' ' + tracing) if tracing else name} | {tracing} | "
            f"{row['median']} | {row['p95']} | {row['cpu_median']} | "
            f"{_cell(shown and shown['wall'])} | {_cell(shown and shown['cpu'])} | "
            f"{row.get('aws_subsegments', '')} | "
            f"{', '.join(f'{n}x {s}' for s, n in row.get('failures', {}).items())} |"
        )
    return [*lines, ""]


def _cold_both_ways_section(results: dict[str, Any]) -> list[str]:
    by_tracing = cold_ratios_by_transport(results)
    sets = measured_sets(results)
    transports = [t for t in sets if "cold" in sets[t]]
    lines = [
        "**Cold-start ratio both ways**: ours / baseline, wall-clock median (CPU in brackets), "
        "and what TLS adds to each cold start in ms, wall-clock median (CPU median)",
        "",
        "| handler | tracing | "
        + " | ".join(f"ours / baseline, {_TRANSPORT_LABELS[t]}" for t in transports)
        + " | ours, TLS minus HTTP ms | baseline, TLS minus HTTP ms |",
        "|---|---|" + "---:|" * (len(transports) + 2),
    ]
    for tracing in TRACING:
        for service in SERVICES:
            ratios = by_tracing[tracing][service]
            cells = [
                f"{_cell(ratios[t]['wall'])} ({_cell(ratios[t]['cpu'])})" if t in ratios else ""
                for t in transports
            ]
            lines.append(
                f"| {service} | {tracing} | {' | '.join(cells)} | "
                f"{_tls_cost(sets, f'ours {service} {tracing}')} | "
                f"{_tls_cost(sets, f'baseline {service} {tracing}')} |"
            )
    return [*lines, ""]


def _tls_cost(sets: dict[str, dict[str, Any]], handler: str) -> str:
    if "tls" not in sets or "http" not in sets:
        return "n/a"
    tls, http = sets["tls"]["cold"][handler], sets["http"]["cold"][handler]
    wall = tls["median"] - http["median"]
    return f"{wall:+.1f} ({tls['cpu_median'] - http['cpu_median']:+.1f})"


def _warm_section(results: dict[str, Any], pass_: str, title: str) -> list[str]:
    warm, found = results[pass_], results["ratios"][pass_]
    variants = [v for v in WARM_VARIANTS if v in warm["latency"]]
    lines = [
        f"**{title}** (in-process, against the emulator; wall ms p50 / p95 / p99, "
        "probe CPU ms p50)",
        "",
        "| endpoint | "
        + " | ".join(_VARIANT_TITLES[v] for v in variants)
        + " | CPU "
        + " / ".join(variants)
        + " | ours / baseline | ours / floor | overhead CPU ours / baseline "
        "| same, shared floor | overhead wall |",
        "|---|" + "---:|" * (len(variants) + 6),
    ]
    for endpoint in ENDPOINTS:
        cells = [
            " / ".join(f"{warm['latency'][v][endpoint][q]:.2f}" for q in ("p50", "p95", "p99"))
            for v in variants
        ]
        cpu = " / ".join(f"{warm['cpu'][v][endpoint]['p50']:.2f}" for v in variants)
        r = found[endpoint]
        lines.append(
            f"| {ROUTE_OF[endpoint]} | {' | '.join(cells)} | {cpu} | {_cell(r['ours/baseline'])} | "
            f"{_cell(r['ours/floor'])} | {_cell(r['overhead cpu ours/baseline'])} | "
            f"{_cell(r['overhead cpu ours/baseline, shared floor'])} | "
            f"{_cell(r['overhead wall ours/baseline'])} |"
        )
    lines += ["", f"Same responses (ours vs baseline): {warm['same_responses']}", ""]
    return lines


_VARIANT_TITLES = {
    "ours": "ours",
    "baseline": "baseline",
    "floor": "floor (raw aiobotocore)",
    "floor_boto3": "floor (raw boto3)",
}


def _sealing_section(sealing: dict[str, Any]) -> list[str]:
    """The users function's personal-field sealing: once per container, then per request."""
    lines = [
        f"**Sealing personal fields** (users function, {sealing['runs']} fresh processes; "
        "medians, ms unless marked µs; `bench/sealing.py` says what each row holds)",
        "",
        "| cold: once per container | median |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {value} |" for name, value in sealing["once"].items()]
    lines += [
        "",
        f"| warm, no KMS call ({sealing['invocations']} per process) | p50 | p95 | p99 |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {row['p50']:.2f} | {row['p95']:.2f} | {row['p99']:.2f} |"
        for name, row in sealing["warm"].items()
    ]
    return [*lines, ""]


def _cost_section(cost: dict[str, Any]) -> list[str]:
    """What each benched request of ours would cost on AWS (``bench/request_cost.py``)."""
    return [
        f"**Cost per request** (ours, a metered pass apart from the timings; us-east-1 list "
        f"prices of {cost['pricesAsOf']}, `libs/resources/prices.py`; the request alone: an "
        "order's event is priced in `just load`'s report)",
        "",
        *route_table(cost["routes"]),
        "",
    ]


def _bundle_section(results: dict[str, Any]) -> list[str]:
    lines = [
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
    return [*lines, ""]


def _step_section(steps: list[dict[str, Any]]) -> list[str]:
    lines = [
        "**Step log**: each change and what it did (ours / baseline; cold = wall-clock median "
        "ratio, CPU in brackets; overhead = CPU above the floor per invocation, ours / baseline)",
        "",
        "| # | change | cold orders | cold users | cold orders, traced | cold users, traced "
        "| overhead GET /orders/{id} | overhead GET /users/me | run |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for number, step in enumerate(steps, 1):
        cold = step.get("cold", {})

        def cold_cell(tracing: str, service: str, cold: dict[str, Any] = cold) -> str:
            value = cold.get(tracing, {}).get(service)
            return f"{_cell(value['wall'])} ({_cell(value['cpu'])})" if value else ""

        overhead = step.get("overhead_cpu", {})
        lines.append(
            f"| {number} | {step['step']} | {cold_cell('untraced', 'orders')} | "
            f"{cold_cell('untraced', 'users')} | {cold_cell('traced', 'orders')} | "
            f"{cold_cell('traced', 'users')} | {_cell(overhead.get('get_order'))} | "
            f"{_cell(overhead.get('get_me'))} | "
            f"{step['measured_at']}{' quick' if step.get('quick') else ''} |"
        )
    return [*lines, ""]


def _method_section(settings: dict[str, Any]) -> list[str]:
    return [
        "**How to read this.** Cold init is judged on the wall-clock median (what a caller "
        "waits); the probe's CPU time beside it is the same start-up without the machine's "
        "other load. Both are on-demand starts: under SnapStart a restore replaces init, and its "
        "duration can only be measured in AWS. Warm overhead above the floor is judged on CPU "
        "time per invocation: the wall-clock overhead is the difference of two noisy figures "
        "dominated by the emulator's own time (moto answers in the bench's process), while the "
        "probe's CPU time is exactly what the handler computes (SDK included). Each "
        "implementation is charged what it adds to its own SDK's raw calls (aiobotocore for "
        "ours, boto3 for the baseline): boto3 spends less CPU per call than aiobotocore, so above "
        "a shared aiobotocore floor the baseline's framework would hide (that ratio is shown "
        "too). The fan-out target needs round trips to overlap, so it is "
        f"judged with {settings['latency_ms']:g} ms added to every AWS call, for every variant "
        "alike. Probes run with Lambda's variables (LAMBDA_TASK_ROOT ...) and see only the "
        "packages their bundle would hold. Over TLS every SDK loads its CA bundle (botocore's "
        "own with the local root appended: as many certificates as in Lambda) and makes a full "
        "handshake on each new connection (an RSA 2048 chain with an intermediate, shaped like "
        "AWS's); over plain HTTP it does neither, and ours does not even set its TLS up "
        "(`libs/aws_clients.py` `plain_http_options`). The TLS set is what AWS charges; the "
        "plain set is kept for comparison with earlier runs.",
        "",
    ]


def chart(results: dict[str, Any], path: Path) -> None:
    """Warm p50/p99 per endpoint and cold-init medians, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = primary_set(results)
    transport = next((t for t, m in measured_sets(results).items() if m is shown), "")
    suffix = f" ({_TRANSPORT_LABELS[transport]})" if transport else ""
    results = shown
    figure, (warm_axis, cold_axis) = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = {"ours": "#2b7bb9", "baseline": "#d95f02", "floor": "#7f7f7f"}
    if "warm" in results:
        latency = results["warm"]["latency"]
        width = 0.27
        for index, variant in enumerate(("ours", "baseline", "floor")):
            xs = [i + (index - 1) * width for i in range(len(ENDPOINTS))]
            p50 = [latency[variant][e]["p50"] for e in ENDPOINTS]
            p99 = [latency[variant][e]["p99"] for e in ENDPOINTS]
            warm_axis.bar(xs, p50, width, label=f"{variant} p50", color=colors[variant])
            warm_axis.scatter(xs, p99, marker="_", s=200, color="black", zorder=3)
        warm_axis.set_xticks(range(len(ENDPOINTS)), [ROUTE_OF[e] for e in ENDPOINTS], fontsize=8)
        warm_axis.set_ylabel("ms (bar p50, tick p99)")
        warm_axis.set_title(f"Warm latency per invocation{suffix}")
        warm_axis.legend(fontsize=8)
    if "cold" in results:
        cold = results["cold"]
        names = list(cold)
        cold_axis.barh(
            names,
            [cold[n]["median"] for n in names],
            color=[
                colors["floor"] if n.startswith("floor") else colors[n.split()[0]] for n in names
            ],
        )
        cold_axis.tick_params(axis="y", labelsize=7)
        cold_axis.set_xlabel("ms to first response (median)")
        cold_axis.set_title(f"Cold init{suffix}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict[str, Any], directory: Path) -> None:
    """latest.json, latest.md and latest.png in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / "latest.md").write_text(markdown(results))
    chart(results, directory / "latest.png")
