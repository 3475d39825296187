"""The capacity summary: which step is the capacity, what saturated, what CPU a request costs."""

from __future__ import annotations

from libs.resources.slo import SLO
from loadtests.capacity import (
    StepResult,
    capacity_of,
    cpu_bound_rps,
    cpu_ms_per_request,
    saturation,
    summary_document,
    summary_markdown,
)
from loadtests.emulator_floor import FloorResult
from loadtests.slo_gate import RouteStats, Verdict, evaluate


def step(
    rate: float,
    achieved: float,
    p99_ms: float,
    *,
    failures: int = 0,
    cores: dict[str, float] | None = None,
) -> StepResult:
    """A step whose routes all answer with ``p99_ms`` (p95 a little under)."""
    routes = tuple(
        RouteStats(route, 1000, failures, p99_ms * 0.8, p99_ms, requests_per_second=achieved / 2)
        for route in ("GET /products", "POST /orders")
    )
    totals = RouteStats(
        "Aggregated", 2000, 2 * failures, p99_ms * 0.8, p99_ms, requests_per_second=achieved
    )
    return StepResult(
        target_rps=rate,
        users=round(rate / 3),
        seconds=45,
        routes=routes,
        totals=totals,
        server_errors=0,
        verdict=evaluate(routes, server_errors=0),
        cores=cores or {},
        load_average=(0.5, 0.4, 0.3),
    )


def test_the_capacity_is_the_fastest_step_within_slo_with_no_errors() -> None:
    # Given steps at 100, 150 and 200 req/s; 200 breaches the products SLO
    products_p99 = SLO.latency_of("GET /products").p99_ms
    steps = [step(100, 99, 60), step(150, 148, 240), step(200, 170, products_p99 + 1)]
    # Then the capacity is what the 150 step achieved, and the 100 ms target held only at 100
    found = capacity_of(steps, cpu_count=2)
    assert found.within_slo is steps[1]
    assert found.within_target is steps[0]


def test_a_step_with_errors_is_not_capacity_even_within_the_error_budget() -> None:
    # Given a fast step with one failure in a thousand (inside the 5xx budget)
    steps = [step(100, 99, 60, failures=1)]
    # Then it passes the SLO gate but is not counted as capacity (no errors allowed)
    assert steps[0].verdict.passed
    assert capacity_of(steps, cpu_count=2).within_slo is None


def test_saturation_names_a_single_process_at_a_full_core() -> None:
    cores = {"gateway": 0.3, "emulator": 0.95, "handlers": 0.5, "other processes": 0.1}
    assert saturation(cores, cpu_count=2).startswith("emulator: 0.95 of its one core")


def test_saturation_names_the_machine_when_every_core_is_busy() -> None:
    cores = {"gateway": 0.3, "emulator": 0.6, "handlers": 0.8, "other processes": 0.2}
    verdict = saturation(cores, cpu_count=2)
    assert verdict.startswith("the machine: 1.90 of 2 cores busy")
    assert "handlers (0.80)" in verdict


def test_saturation_says_when_no_cpu_ran_out() -> None:
    cores = {"gateway": 0.2, "emulator": 0.5, "handlers": 0.4}
    assert saturation(cores, cpu_count=2).startswith("none: 1.10 of 2 cores busy")


def test_the_limiting_step_is_the_first_that_misses_the_target() -> None:
    # Given a step within target, then one over it where the emulator is at a full core
    steps = [
        step(100, 99, 60, cores={"emulator": 0.6}),
        step(150, 140, 300, cores={"emulator": 0.97}),
    ]
    assert capacity_of(steps, cpu_count=2).saturation.startswith("emulator: 0.97")


def test_cpu_per_request_and_the_cpu_bound_rate() -> None:
    # Given 100 req/s using 0.5 core in the emulator and 0.5 in handlers (2 cores)
    cores = {"emulator": 0.5, "handlers": 0.5, "other processes": 1.0}
    # Then each request costs 5 ms of each, other processes left out
    assert cpu_ms_per_request(cores, 100) == {"emulator": 5.0, "handlers": 5.0}
    # And the emulator (one process) runs out at 200 req/s, all cores together at 200 too
    assert cpu_bound_rps(cores, 100, cpu_count=2) == 200.0
    # While with 4 cores the single process is what limits
    assert cpu_bound_rps(cores, 100, cpu_count=4) == 200.0
    assert cpu_bound_rps({"handlers": 0.5}, 100, cpu_count=4) == 800.0
    assert cpu_bound_rps(cores, 0, cpu_count=2) is None


def test_the_summary_states_capacity_target_and_per_route_objectives() -> None:
    # Given a two-step run with CPU by component and by function
    cores = {
        "gateway": 0.2,
        "emulator": 0.4,
        "handler products": 0.3,
        "handler orders": 0.1,
        "load generator": 0.1,
        "other processes": 0.05,
    }
    steps = [step(100, 99.2, 60, cores=cores), step(150, 151.3, 90, cores=cores)]
    # When it is summarized
    document = summary_document(
        steps, command="uv run just load --rate 100,150", cpu_count=2, emulator="moto apart"
    )
    markdown = summary_markdown(document)
    # Then the capacity and the target are stated, with the functions folded into handlers
    assert document["capacityWithinSloRps"] == 151.3
    assert document["targetMet"] is True
    assert document["steps"][1]["cores"]["handlers"] == 0.4
    assert document["steps"][1]["functionCores"] == {"products": 0.3, "orders": 0.1}
    assert "**151.3 req/s**" in markdown
    assert "**met**" in markdown
    # And each route is shown against its own objective
    objective = SLO.latency_of("GET /products")
    assert f"| GET /products | 1000 | 0 | 72 ({objective.p95_ms}) | 90 ({objective.p99_ms}) |" in (
        markdown
    )


def test_a_run_without_steps_says_so() -> None:
    document = summary_document([], command="x", cpu_count=2, emulator="moto")
    assert document["capacityWithinSloRps"] is None
    assert "none of the steps" in summary_markdown(document)
    assert capacity_of([], cpu_count=2).saturation == "no steps ran"


def test_a_breaching_step_lists_its_breaches() -> None:
    slow = step(200, 120, 5000)
    document = summary_document([slow], command="x", cpu_count=2, emulator="moto")
    assert document["steps"][0]["withinSlo"] is False
    assert "Breaches: GET /products: p95" in summary_markdown(document)
    assert isinstance(slow.verdict, Verdict)


def test_saturation_is_read_at_the_first_step_over_the_slo() -> None:
    # Given a step off the 100 ms target but within SLO, then one over the SLO
    over = SLO.latency_of("GET /products").p99_ms + 1
    steps = [
        step(100, 99, 150, cores={"gateway": 0.2}),
        step(200, 180, over, cores={"gateway": 0.95}),
    ]
    # Then what saturated is read where the SLO broke, and the summary says which step that was
    found = capacity_of(steps, cpu_count=2)
    assert found.saturated_at is steps[1]
    assert found.saturation.startswith("gateway: 0.95")
    document = summary_document(steps, command="x", cpu_count=2, emulator="moto")
    assert "Saturated first (at the 200 req/s step): gateway" in summary_markdown(document)


def test_the_emulator_floor_is_reported_with_its_cpu_per_call() -> None:
    floor = [FloorResult("GetItem", 8, 1000.0, 6.0, 14.0, emulator_cores=0.9)]
    document = summary_document(
        [step(100, 99, 60)], command="x", cpu_count=2, emulator="moto", floor=floor
    )
    assert document["floor"][0]["emulatorMsPerCall"] == 0.9
    assert "| GetItem | 8 | 1000 | 6.0 | 14.0 | 0.90 | 0.90 |" in summary_markdown(document)
    assert FloorResult("Query", 8, 0.0, 0.0, 0.0, None).emulator_ms_per_call is None
