"""Each route's percentiles from every response time Locust measured, not its rounded histogram.

Locust keeps response times under 100 ms rounded to whole milliseconds, so at the local stack's
5-15 ms a p50 moves in steps of 7-20 %: too coarse to hold a ratio of two p50s to 1.3. The
locustfile writes each request's measured time (``LOAD_TIMINGS_FILE``); a route's percentiles are
then taken from those, by the nearest-rank rule Locust uses.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from loadtests.slo_gate import AGGREGATED, RouteStats


def percentile(times: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``times``: the smallest value at least ``share`` of them
    are at or below."""
    if not times:
        raise ValueError("no times")
    ordered = sorted(times)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def read_timings(path: Path) -> dict[str, list[float]]:
    """Response times in ms by request name, as the locustfile wrote them ({} when absent)."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return {str(name): [float(t) for t in times] for name, times in document.items()}


def with_exact_percentiles(
    rows: Iterable[RouteStats], timings: Mapping[str, Sequence[float]]
) -> list[RouteStats]:
    """``rows`` with p50, p95 and p99 taken from ``timings`` where a route has them; the
    Aggregated row from every route's times together."""
    every = [t for times in timings.values() for t in times]
    exact = []
    for row in rows:
        times = every if row.route == AGGREGATED else timings.get(row.route)
        if not times:
            exact.append(row)
            continue
        exact.append(
            dataclasses.replace(
                row,
                p50_ms=percentile(times, 0.50),
                p95_ms=percentile(times, 0.95),
                p99_ms=percentile(times, 0.99),
            )
        )
    return exact
