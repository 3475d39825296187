"""The load test's pass/fail verdict from Locust's statistics and the SLO declaration."""

from __future__ import annotations

from pathlib import Path

from libs.resources.slo import SLO
from loadtests.slo_gate import RouteStats, evaluate, read_server_errors, read_stats


def within(route: str, requests: int = 1000, failures: int = 0) -> RouteStats:
    objective = SLO.latency_of(route)
    return RouteStats(route, requests, failures, objective.p95_ms - 1, objective.p99_ms - 1)


def test_a_run_within_every_objective_passes() -> None:
    stats = [within("GET /products"), within("POST /orders"), within("GET /users/me")]
    assert evaluate(stats, server_errors=0).passed


def test_a_route_over_its_own_p99_fails_naming_the_route() -> None:
    # Given GET /products answering its p99 one millisecond over its objective
    objective = SLO.latency_of("GET /products")
    slow = RouteStats("GET /products", 1000, 0, objective.p95_ms, objective.p99_ms + 1)
    # Then the run fails, and says which route and which percentile
    verdict = evaluate([slow, within("POST /orders")], server_errors=0)
    assert not verdict.passed
    assert verdict.breaches == (
        f"GET /products: p99 {objective.p99_ms + 1} ms > {objective.p99_ms} ms",
    )


def test_a_route_without_its_own_objective_is_held_to_the_default() -> None:
    default = SLO.default_latency
    slow = RouteStats("GET /notifications", 10, 0, default.p95_ms + 1, default.p99_ms)
    assert not evaluate([slow], server_errors=0).passed


def test_any_5xx_fails_even_within_the_error_budget() -> None:
    assert not evaluate(
        [within("GET /products", requests=100_000, failures=1)], server_errors=1
    ).passed


def test_failures_over_the_error_budget_fail_the_run() -> None:
    requests = 1000
    failures = int(requests * SLO.api_5xx_percent / 100) + 1
    verdict = evaluate([within("GET /orders", requests, failures)], server_errors=0)
    assert any("error rate" in breach for breach in verdict.breaches)


def test_a_run_without_requests_fails() -> None:
    assert not evaluate([], server_errors=0).passed


def test_locust_csvs_are_read_per_route_and_5xx_counted(tmp_path: Path) -> None:
    # Given Locust's stats and failures files
    stats = tmp_path / "load_stats.csv"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,95%,99%\n"
        "GET,GET /products,120,0,35,80\n"
        "POST,POST /orders,30,2,N/A,N/A\n"
        ",Aggregated,150,2,40,90\n"
    )
    failures = tmp_path / "load_failures.csv"
    failures.write_text(
        "Method,Name,Error,Occurrences\n"
        "POST,POST /orders,CatchResponseError('HTTP 503'),1\n"
        "POST,POST /orders,CatchResponseError('HTTP 409'),1\n"
    )
    # Then the routes are read without the aggregate, and only the 503 is a server error
    rows = read_stats(stats)
    assert [row.route for row in rows] == ["GET /products", "POST /orders"]
    assert rows[0].p99_ms == 80.0
    assert rows[1].p95_ms == 0.0
    assert read_server_errors(failures) == 1
    assert read_server_errors(tmp_path / "absent.csv") == 0
