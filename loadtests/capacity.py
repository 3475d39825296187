"""A load run's capacity summary (pure): each step's rate, latency, errors and CPU by component.

A run is one or more steps at increasing request rates against the same stack. The capacity is
the highest rate achieved with every route within its SLO and no error at all; the target is the
stricter bar the local system is tuned for (150 req/s with p99 ≤ 100 ms over all routes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from libs.resources.slo import SLO, ServiceLevelObjectives
from loadtests.cpu_usage import (
    ELSEWHERE,
    EMULATOR,
    GATEWAY,
    GATEWAY_AND_EMULATOR,
    HANDLERS,
    by_component,
    by_function,
)
from loadtests.cpu_usage import LOAD_GENERATOR as LOAD_GENERATOR_COMPONENT
from loadtests.emulator_floor import FloorResult
from loadtests.slo_gate import RouteStats, Verdict

TARGET_RPS: Final = 150.0
TARGET_P99_MS: Final = 100.0
# A single-process component at this share of one core is saturated (one GIL, one core).
SATURATED_CORES: Final = 0.9
# Share of the time with some task waiting for a CPU from which the CPUs are contended.
CONTENDED_PRESSURE: Final = 0.25
# Components that run in one process, hence one core at most.
_SINGLE_PROCESS: Final = (LOAD_GENERATOR_COMPONENT, GATEWAY, GATEWAY_AND_EMULATOR, EMULATOR)
_COMPONENT_ORDER: Final = (
    LOAD_GENERATOR_COMPONENT,
    GATEWAY,
    GATEWAY_AND_EMULATOR,
    HANDLERS,
    EMULATOR,
    ELSEWHERE,
)


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a run: what was asked, what was measured."""

    target_rps: float | None  # None: users at a shopper's pace, no set rate
    users: int
    seconds: float
    routes: tuple[RouteStats, ...]
    totals: RouteStats
    server_errors: int
    verdict: Verdict
    cores: Mapping[str, float] = field(default_factory=dict)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu_pressure: float | None = None  # share of the step some task waited for a CPU
    steady_rps: float | None = None  # the rate held once every user had started

    @property
    def achieved_rps(self) -> float:
        """Requests per second served once every user ran (else over the whole step)."""
        return self.steady_rps if self.steady_rps is not None else self.totals.requests_per_second

    @property
    def within_slo(self) -> bool:
        """Every route within its objective, and not one error."""
        return self.verdict.passed and self.totals.failures == 0

    def within_target(self, p99_ms: float = TARGET_P99_MS) -> bool:
        """p99 over all routes at or under ``p99_ms``, and not one error."""
        return (
            self.totals.p99_ms <= p99_ms and self.totals.failures == 0 and self.totals.requests > 0
        )


@dataclass(frozen=True, slots=True)
class Capacity:
    """The run's conclusions."""

    within_slo: StepResult | None  # the fastest step with every route within its SLO
    within_target: StepResult | None  # the fastest step with p99 ≤ the target
    saturation: str  # which component ran out of CPU first, in words
    saturated_at: StepResult | None = None  # the step that saturation was read at


def capacity_of(
    steps: Sequence[StepResult], cpu_count: int, p99_ms: float = TARGET_P99_MS
) -> Capacity:
    """The fastest passing steps, and what saturated at the first step that did not pass."""
    passing = [step for step in steps if step.within_slo]
    on_target = [step for step in steps if step.within_target(p99_ms)]
    # What gave out: at the first step over the SLO, else the first over the target, else
    # at the fastest step.
    over_slo = [step for step in steps if not step.within_slo]
    off_target = [step for step in steps if not step.within_target(p99_ms)]
    limiting = next(iter(over_slo or off_target or steps[-1:]), None)
    return Capacity(
        within_slo=max(passing, key=lambda step: step.achieved_rps, default=None),
        within_target=max(on_target, key=lambda step: step.achieved_rps, default=None),
        saturation=(
            saturation(by_component(limiting.cores), cpu_count, limiting.cpu_pressure)
            if limiting
            else "no steps ran"
        ),
        saturated_at=limiting,
    )


def saturation(
    cores: Mapping[str, float], cpu_count: int, cpu_pressure: float | None = None
) -> str:
    """Which component ran out of CPU: a one-process component near a full core, or the machine
    (every core busy, or runnable tasks queueing for a core much of the time)."""
    if not cores:
        return "not measured"
    ours = {name: used for name, used in cores.items() if name != ELSEWHERE}
    busiest = max(ours, key=lambda name: ours[name], default=None)
    machine = sum(cores.values())
    full = [name for name in _SINGLE_PROCESS if cores.get(name, 0.0) >= SATURATED_CORES]
    if full:
        name = max(full, key=lambda name: cores[name])
        return f"{name}: {cores[name]:.2f} of its one core (a single process, one GIL)"
    if machine >= SATURATED_CORES * cpu_count and busiest is not None:
        return (
            f"the machine: {machine:.2f} of {cpu_count} cores busy; most of it "
            f"{busiest} ({cores[busiest]:.2f}), other processes {cores.get(ELSEWHERE, 0.0):.2f}"
        )
    if cpu_pressure is not None and cpu_pressure >= CONTENDED_PRESSURE and busiest is not None:
        return (
            f"the machine's CPUs: tasks waited for a core {cpu_pressure:.0%} of the time with "
            f"{machine:.2f} of {cpu_count} cores busy (most of it {busiest}, "
            f"{cores[busiest]:.2f}; other processes {cores.get(ELSEWHERE, 0.0):.2f})"
        )
    return f"none: {machine:.2f} of {cpu_count} cores busy, no single process at a full core"


def summary_document(
    steps: Sequence[StepResult],
    *,
    command: str,
    cpu_count: int,
    emulator: str,
    p99_ms: float = TARGET_P99_MS,
    slo: ServiceLevelObjectives = SLO,
    floor: Sequence[FloorResult] = (),
) -> dict[str, Any]:
    """Everything the summary says, as JSON-ready data."""
    found = capacity_of(steps, cpu_count, p99_ms)
    return {
        "floor": [
            {
                "call": result.call,
                "concurrency": result.concurrency,
                "callsPerSecond": round(result.calls_per_second, 1),
                "p50Ms": round(result.p50_ms, 1),
                "p99Ms": round(result.p99_ms, 1),
                "emulatorCores": _rounded_share(result.emulator_cores),
                "emulatorMsPerCall": _rounded_share(result.emulator_ms_per_call),
            }
            for result in floor
        ],
        "command": command,
        "cpuCount": cpu_count,
        "emulator": emulator,
        "target": {"rps": TARGET_RPS, "p99Ms": p99_ms},
        "capacityWithinSloRps": _rps(found.within_slo),
        "capacityWithinTargetRps": _rps(found.within_target),
        "targetMet": bool(found.within_target and found.within_target.achieved_rps >= TARGET_RPS),
        "saturation": found.saturation,
        "saturationStep": found.saturated_at.target_rps if found.saturated_at else None,
        "steps": [_step_document(step, slo, cpu_count) for step in steps],
    }


def summary_markdown(document: Mapping[str, Any]) -> str:
    """The summary as a short Markdown page (what ``summary.md`` holds and the runner prints)."""
    target = document["target"]
    lines = [
        "# Load test summary",
        "",
        f"Command: `{document['command']}`  ",
        f"Machine: {document['cpuCount']} cores; emulator: {document['emulator']}.",
        "",
        f"- Capacity, every route within its SLO and no errors: "
        f"**{_rate(document['capacityWithinSloRps'])}**",
        f"- Target, ≥ {target['rps']:.0f} req/s with p99 ≤ {target['p99Ms']:.0f} ms and no "
        f"errors: **{'met' if document['targetMet'] else 'not met'}** "
        f"(fastest step within p99 ≤ {target['p99Ms']:.0f} ms: "
        f"{_rate(document['capacityWithinTargetRps'])})",
        f"- Saturated first{_at_step(document['saturationStep'])}: {document['saturation']}",
        "",
        "Rates are those held once every user had started; latencies cover the whole step.",
        "",
        "| step | users | req/s | requests | errors | 5xx | p50 ms | p95 ms | p99 ms | SLO "
        "| CPU pressure | load avg 1m |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in document["steps"]:
        totals = step["totals"]
        lines.append(
            f"| {_step_name(step)} | {step['users']} | {totals['rps']:.1f} "
            f"| {totals['requests']} | {totals['failures']} | {step['serverErrors']} "
            f"| {totals['p50Ms']:.0f} | {totals['p95Ms']:.0f} | {totals['p99Ms']:.0f} "
            f"| {'pass' if step['withinSlo'] else 'FAIL'} | {_percent(step['cpuPressure'])} "
            f"| {step['loadAverage'][0]:.2f} |"
        )
    components = [
        name for name in _COMPONENT_ORDER if any(name in s["cores"] for s in document["steps"])
    ]
    lines += [
        "",
        f"CPU, in cores (of {document['cpuCount']}) kept busy on average during each step:",
        "",
        "| step | " + " | ".join(components) + " |",
        "|---|" + "---|" * len(components),
    ]
    for step in document["steps"]:
        used = " | ".join(f"{step['cores'].get(name, 0.0):.2f}" for name in components)
        lines.append(f"| {_step_name(step)} | {used} |")
    ours = [name for name in components if name != ELSEWHERE]
    lines += [
        "",
        "CPU milliseconds per request, and the rate at which the stack alone would run out of CPU "
        "(a single process at one full core, or all of them at every core):",
        "",
        "| step | " + " | ".join(ours) + " | CPU-bound req/s |",
        "|---|" + "---|" * (len(ours) + 1),
    ]
    for step in document["steps"]:
        per_request = " | ".join(f"{step['cpuMsPerRequest'].get(name, 0.0):.2f}" for name in ours)
        bound = step["cpuBoundRps"]
        lines.append(
            f"| {_step_name(step)} | {per_request} | "
            f"{f'{bound:.0f}' if bound is not None else '-'} |"
        )
    functions = sorted({name for step in document["steps"] for name in step["functionCores"]})
    if functions:
        lines += [
            "",
            "Handlers' cores by function:",
            "",
            "| step | " + " | ".join(functions) + " |",
            "|---|" + "---|" * len(functions),
        ]
        for step in document["steps"]:
            used = " | ".join(f"{step['functionCores'].get(name, 0.0):.2f}" for name in functions)
            lines.append(f"| {_step_name(step)} | {used} |")
    if document["floor"]:
        lines += [
            "",
            "The emulator alone (the floor: the same calls sent straight to it, after the steps):",
            "",
            "| call | concurrency | calls/s | p50 ms | p99 ms | emulator cores "
            "| emulator CPU ms/call |",
            "|---|---|---|---|---|---|---|",
        ]
        for result in document["floor"]:
            cores, per_call = result["emulatorCores"], result["emulatorMsPerCall"]
            lines.append(
                f"| {result['call']} | {result['concurrency']} | {result['callsPerSecond']:.0f} "
                f"| {result['p50Ms']:.1f} | {result['p99Ms']:.1f} "
                f"| {f'{cores:.2f}' if cores is not None else '-'} "
                f"| {f'{per_call:.2f}' if per_call is not None else '-'} |"
            )
    for step in document["steps"]:
        lines += [
            "",
            f"Routes at {_step_name(step)} ({step['totals']['rps']:.1f} req/s):",
            "",
            "| route | requests | errors | p95 ms (SLO) | p99 ms (SLO) |",
            "|---|---|---|---|---|",
        ]
        for route in step["routes"]:
            lines.append(
                f"| {route['route']} | {route['requests']} | {route['failures']} "
                f"| {route['p95Ms']:.0f} ({route['sloP95Ms']}) "
                f"| {route['p99Ms']:.0f} ({route['sloP99Ms']}) |"
            )
        if step["breaches"]:
            lines += ["", "Breaches: " + "; ".join(step["breaches"])]
    return "\n".join(lines) + "\n"


def cpu_ms_per_request(cores: Mapping[str, float], rps: float) -> dict[str, float]:
    """CPU milliseconds each component spends per request served (other processes left out)."""
    if rps <= 0:
        return {}
    return {name: 1000 * used / rps for name, used in cores.items() if name != ELSEWHERE}


def cpu_bound_rps(cores: Mapping[str, float], rps: float, cpu_count: int) -> float | None:
    """The rate at which the stack would run out of CPU on an otherwise idle machine.

    The lower of: a single-process component reaching one full core, and all components
    together reaching every core. A model from CPU per request, not a measurement; it holds
    while the cost per request stays what it was at this rate.
    """
    per_request = cpu_ms_per_request(cores, rps)
    if not per_request:
        return None
    limits = [1000 / ms for name, ms in per_request.items() if name in _SINGLE_PROCESS and ms > 0]
    total = sum(per_request.values())
    if total > 0:
        limits.append(cpu_count * 1000 / total)
    return min(limits, default=None)


def _step_document(step: StepResult, slo: ServiceLevelObjectives, cpu_count: int) -> dict[str, Any]:
    def route_document(row: RouteStats) -> dict[str, Any]:
        objective = slo.latency_of(row.route)
        return {
            "route": row.route,
            "requests": row.requests,
            "failures": row.failures,
            "rps": round(row.requests_per_second, 2),
            "p50Ms": row.p50_ms,
            "p95Ms": row.p95_ms,
            "p99Ms": row.p99_ms,
            "sloP95Ms": objective.p95_ms,
            "sloP99Ms": objective.p99_ms,
        }

    totals = {**route_document(step.totals), "rps": round(step.achieved_rps, 2)}
    components = by_component(step.cores)
    return {
        "targetRps": step.target_rps,
        "users": step.users,
        "seconds": round(step.seconds, 1),
        "totals": {k: v for k, v in totals.items() if not k.startswith("slo")},
        "serverErrors": step.server_errors,
        "withinSlo": step.within_slo,
        "breaches": list(step.verdict.breaches),
        "cores": {name: round(used, 2) for name, used in components.items()},
        "functionCores": {name: round(used, 2) for name, used in by_function(step.cores).items()},
        "cpuMsPerRequest": {
            name: round(ms, 2)
            for name, ms in cpu_ms_per_request(components, step.achieved_rps).items()
        },
        "cpuBoundRps": _rounded(cpu_bound_rps(components, step.achieved_rps, cpu_count)),
        "loadAverage": list(step.load_average),
        "cpuPressure": _rounded_share(step.cpu_pressure),
        "routes": [route_document(row) for row in step.routes],
    }


def _at_step(rate: float | None) -> str:
    return f" (at the {rate:.0f} req/s step)" if rate is not None else ""


def _percent(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "-"


def _step_name(step: Mapping[str, Any]) -> str:
    rate = step["targetRps"]
    return f"{rate:.0f} req/s" if rate is not None else "shopper pace"


def _rounded_share(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _rps(step: StepResult | None) -> float | None:
    return round(step.achieved_rps, 1) if step is not None else None


def _rate(rps: float | None) -> str:
    return f"{rps:.1f} req/s" if rps is not None else "none of the steps"
