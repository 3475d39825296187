"""The empty and the large data set side by side: p50 ratios, SLO verdicts, peak memory."""

from __future__ import annotations

import os

from libs.resources.slo import SLO
from loadtests.data_sets import (
    PeakMemory,
    comparison_document,
    comparison_markdown,
    peak_rss_mib,
)
from loadtests.slo_gate import RouteStats, evaluate, route_key

SEED: dict[str, float] = {"orders": 100_000, "users": 5_000, "products": 2_000, "items": 620_000}
SEED |= {"seconds": 150.0, "items_per_second": 4133}
MEMORY = {"empty": PeakMemory(120.0, 110.0), "large": PeakMemory(1900.0, 115.0)}


def stats(route: str, p50: float, p95: float = 50, p99: float = 80) -> RouteStats:
    return RouteStats(route, requests=500, failures=0, p95_ms=p95, p99_ms=p99, p50_ms=p50)


def test_routes_within_the_ratio_and_their_slo_pass() -> None:
    # Given every route's p50 on the large set at most 1.3 times the empty set's
    empty = [stats("GET /products", 10), stats("POST /orders", 20)]
    large = [stats("GET /products", 13), stats("POST /orders", 21)]
    # When they are compared
    document = comparison_document(empty, large, seed=SEED, memory=MEMORY)
    # Then each route has its ratio, and the comparison passes
    assert [route["p50_ratio"] for route in document["routes"]] == [1.3, 1.05]
    assert document["passed"]


def test_a_route_slower_on_the_large_set_fails_the_comparison_by_name() -> None:
    # Given GET /products (all) twice as slow at the median on the large set
    empty = [stats("GET /products (all)", 10), stats("POST /orders", 20)]
    large = [stats("GET /products (all)", 20), stats("POST /orders", 20)]
    # When compared
    document = comparison_document(empty, large, seed=SEED, memory=MEMORY)
    # Then that route, and only it, is over the ratio, and the markdown says so
    over = [route["route"] for route in document["routes"] if not route["ratio_within_target"]]
    assert over == ["GET /products (all)"]
    assert not document["passed"]
    assert "| GET /products (all) | 10.0 / 50 / 80 | 20.0 / 50 / 80 | 2.00 |" in (
        comparison_markdown(document)
    )


def test_a_route_over_its_slo_on_either_set_fails_even_at_an_even_ratio() -> None:
    # Given GET /products over its p95 objective on both sets, at the same median
    objective = SLO.latency_of("GET /products")
    slow = stats("GET /products", 10, p95=objective.p95_ms + 1)
    # When compared
    document = comparison_document([slow], [slow], seed=SEED, memory=MEMORY)
    # Then it is within the ratio but not within its SLO
    (route,) = document["routes"]
    assert route["ratio_within_target"]
    assert not route["within_slo"]
    assert not document["passed"]


def test_a_route_the_empty_set_never_saw_has_no_ratio_and_fails() -> None:
    document = comparison_document([], [stats("PUT /users/me", 30)], seed=SEED, memory=MEMORY)
    (route,) = document["routes"]
    assert route["p50_ratio"] is None
    assert not document["passed"]


def test_a_variant_of_a_route_is_judged_by_its_route_slo() -> None:
    # Given the whole-catalog listing, named as a variant of GET /products
    objective = SLO.latency_of("GET /products")
    # Then its key is the route's, and a p95 over GET /products' objective is a breach
    assert route_key("GET /products (all)") == "GET /products"
    slow = RouteStats("GET /products (all)", 100, 0, objective.p95_ms + 1, objective.p99_ms)
    assert not evaluate([slow], server_errors=0).passed


def test_peak_memory_is_read_for_a_live_process_and_none_for_no_process() -> None:
    peak = peak_rss_mib(os.getpid())
    assert peak is not None
    assert peak > 1
    assert peak_rss_mib(None) is None
    markdown = comparison_markdown(comparison_document([], [], seed=SEED, memory=MEMORY))
    assert "| large | 1,900 | 115 |" in markdown
