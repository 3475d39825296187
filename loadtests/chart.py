"""Latency over time from Locust's ``<prefix>_stats_history.csv``, as a PNG."""

from __future__ import annotations

import csv
from pathlib import Path


def latency_chart(history: Path, output: Path) -> None:
    """p50/p95/p99 and requests per second of the whole run, second by second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with history.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    if not rows:
        return
    start = int(rows[0]["Timestamp"])
    seconds = [int(r["Timestamp"]) - start for r in rows]
    figure, latency = plt.subplots(figsize=(10, 4.5))
    for column, color in (("50%", "#2b7bb9"), ("95%", "#d95f02"), ("99%", "#b2182b")):
        values = [float(r[column]) if r[column] not in ("N/A", "") else None for r in rows]
        latency.plot(seconds, values, label=f"p{column.rstrip('%')}", color=color)
    latency.set_xlabel("seconds")
    latency.set_ylabel("ms (all routes)")
    rate = latency.twinx()
    rate.plot(seconds, [float(r["Requests/s"]) for r in rows], color="#7f7f7f", linestyle=":")
    rate.set_ylabel("requests/s (dotted)")
    latency.legend(loc="upper left")
    latency.set_title("Latency over time")
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
