"""The load test's pass/fail verdict from Locust's statistics and the SLO declaration."""

from __future__ import annotations

from pathlib import Path

from libs.resources.slo import SLO
from loadtests.slo_gate import (
    RouteStats,
    evaluate,
    read_server_errors,
    read_stats,
    read_steady_rate,
    read_totals,
)


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
        "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%\n"
        "GET,GET /products,120,0,2.0,12,35,80\n"
        "POST,POST /orders,30,2,0.5,N/A,N/A,N/A\n"
        ",Aggregated,150,2,2.5,14,40,90\n"
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
    # And the aggregate is read on its own, with its rate and median
    totals = read_totals(stats)
    assert (totals.requests, totals.requests_per_second, totals.p50_ms) == (150, 2.5, 14.0)


def test_a_stats_file_without_an_aggregate_reads_as_no_requests(tmp_path: Path) -> None:
    stats = tmp_path / "load_stats.csv"
    stats.write_text("Type,Name,Request Count,Failure Count,95%,99%\n")
    assert read_totals(stats).requests == 0


def test_the_steady_rate_counts_only_seconds_with_every_user_running(tmp_path: Path) -> None:
    # Given a history where users start over two seconds, then all four run for three
    history = tmp_path / "load_stats_history.csv"
    history.write_text(
        "Timestamp,User Count,Type,Name,Total Request Count\n"
        "100,0,,Aggregated,0\n"
        "101,2,,Aggregated,5\n"
        "102,4,GET,GET /products,7\n"
        "102,4,,Aggregated,20\n"
        "103,4,,Aggregated,60\n"
        "105,4,,Aggregated,140\n"
    )
    # Then the rate is what was served from the first full second on: 120 requests in 3 s
    assert read_steady_rate(history) == 40.0
    assert read_steady_rate(tmp_path / "absent.csv") is None
