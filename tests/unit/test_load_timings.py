"""A route's percentiles come from every measured response time, unrounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.slo_gate import AGGREGATED, RouteStats
from loadtests.timings import percentile, read_timings, with_exact_percentiles


def test_the_nearest_rank_percentile_is_one_of_the_times() -> None:
    times = [float(t) for t in range(1, 101)]  # 1 … 100 ms, shuffled below
    shuffled = times[::2] + times[1::2]
    assert percentile(shuffled, 0.50) == 50.0
    assert percentile(shuffled, 0.95) == 95.0
    assert percentile(shuffled, 0.99) == 99.0
    assert percentile([7.4], 0.99) == 7.4
    with pytest.raises(ValueError, match="no times"):
        percentile([], 0.5)


def test_routes_with_times_get_exact_percentiles_and_the_rest_keep_locusts(tmp_path: Path) -> None:
    # Given Locust's rounded rows and the unrounded times the locustfile wrote for one route
    path = tmp_path / "step_timings.json"
    path.write_text(json.dumps({"GET /products": [6.4, 6.2, 8.9, 6.3], "GET /orders": [9.6]}))
    rows = [
        RouteStats("GET /products", 4, 0, p95_ms=9.0, p99_ms=9.0, p50_ms=6.0),
        RouteStats("PUT /users/me", 2, 0, p95_ms=14.0, p99_ms=14.0, p50_ms=13.0),
        RouteStats(AGGREGATED, 7, 0, p95_ms=14.0, p99_ms=14.0, p50_ms=7.0),
    ]
    # When the percentiles are taken from the times
    exact = with_exact_percentiles(rows, read_timings(path))
    # Then the route with times has them exactly, the other keeps Locust's, the total spans all
    assert (exact[0].p50_ms, exact[0].p95_ms, exact[0].p99_ms) == (6.3, 8.9, 8.9)
    assert exact[0].requests == 4
    assert exact[1] == rows[1]
    assert (exact[2].p50_ms, exact[2].p99_ms) == (6.4, 9.6)


def test_a_missing_timings_file_reads_as_no_times(tmp_path: Path) -> None:
    assert read_timings(tmp_path / "absent.json") == {}
