"""Pass or fail a load test from Locust's statistics and the one SLO declaration (pure)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from libs.resources.slo import SLO, ServiceLevelObjectives

_SERVER_ERROR = re.compile(r"\bHTTP 5\d\d\b")
AGGREGATED = "Aggregated"


@dataclass(frozen=True, slots=True)
class RouteStats:
    """What Locust measured for one route (its request name is the route key)."""

    route: str
    requests: int
    failures: int
    p95_ms: float
    p99_ms: float
    p50_ms: float = 0.0
    requests_per_second: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The breaches found (empty when the run passes)."""

    breaches: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.breaches


def route_key(name: str) -> str:
    """The route key of a request name: ``GET /products (all)`` is a variant of ``GET /products``.

    A variant (a parenthesized suffix) is reported on its own line, judged by its route's SLO.
    """
    return name.split(" (", 1)[0]


def evaluate(
    stats: Iterable[RouteStats],
    server_errors: int,
    slo: ServiceLevelObjectives = SLO,
) -> Verdict:
    """Latency per route against its objective, the error rate against the 5xx budget, no 5xx."""
    rows = list(stats)
    breaches = []
    for row in rows:
        objective = slo.latency_of(route_key(row.route))
        if row.p95_ms > objective.p95_ms:
            breaches.append(f"{row.route}: p95 {row.p95_ms:.0f} ms > {objective.p95_ms} ms")
        if row.p99_ms > objective.p99_ms:
            breaches.append(f"{row.route}: p99 {row.p99_ms:.0f} ms > {objective.p99_ms} ms")
    requests = sum(row.requests for row in rows)
    failures = sum(row.failures for row in rows)
    if requests and 100 * failures / requests > slo.api_5xx_percent:
        rate = 100 * failures / requests
        breaches.append(f"error rate {rate:.2f}% > {slo.api_5xx_percent}%")
    if server_errors:
        breaches.append(f"{server_errors} responses were 5xx")
    if not requests:
        breaches.append("no requests were made")
    return Verdict(tuple(breaches))


def read_stats(path: Path) -> list[RouteStats]:
    """Per-route rows of Locust's ``<prefix>_stats.csv`` (the Aggregated row left out)."""
    return [row for row in _read_rows(path) if row.route != AGGREGATED]


def read_totals(path: Path) -> RouteStats:
    """The Aggregated row of Locust's ``<prefix>_stats.csv``: every route together."""
    for row in _read_rows(path):
        if row.route == AGGREGATED:
            return row
    return RouteStats(AGGREGATED, 0, 0, 0.0, 0.0)


def read_steady_rate(history: Path) -> float | None:
    """Requests per second once every user had started, from ``<prefix>_stats_history.csv``.

    The step's own average counts the seconds users were still starting (and logging in); this
    is the rate the step held afterwards. None when the file has no such stretch.
    """
    if not history.exists():
        return None
    with history.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == AGGREGATED]
    if not rows:
        return None
    users = max(int(row["User Count"]) for row in rows)
    running = [row for row in rows if int(row["User Count"]) == users]
    seconds = int(running[-1]["Timestamp"]) - int(running[0]["Timestamp"])
    if seconds <= 0:
        return None
    served = int(running[-1]["Total Request Count"]) - int(running[0]["Total Request Count"])
    return served / seconds


def _read_rows(path: Path) -> list[RouteStats]:
    with path.open(newline="") as handle:
        return [
            RouteStats(
                route=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                p50_ms=_number(row.get("50%", "")),
                requests_per_second=_number(row.get("Requests/s", "")),
            )
            for row in csv.DictReader(handle)
        ]


def server_errors(failures: Iterable[Mapping[str, str]]) -> int:
    """How many failures were 5xx answers (rows of ``<prefix>_failures.csv``)."""
    # Locust records them as e.g. ``CatchResponseError('HTTP 503')``.
    return sum(int(row["Occurrences"]) for row in failures if _SERVER_ERROR.search(row["Error"]))


def read_server_errors(path: Path) -> int:
    """5xx answers counted in Locust's failures file (0 when there is none)."""
    if not path.exists():
        return 0
    with path.open(newline="") as handle:
        return server_errors(csv.DictReader(handle))


def _number(text: str | None) -> float:
    return float(text) if text not in (None, "", "N/A") else 0.0
