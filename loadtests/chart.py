"""Latency over time from Locust's ``<prefix>_stats_history.csv`` files, one per step, as a PNG."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path


def latency_chart(histories: Sequence[tuple[str, Path]], output: Path) -> None:
    """p50/p95/p99 and requests per second, second by second, the steps one after another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds: list[int] = []
    rows: list[dict[str, str]] = []
    boundaries: list[tuple[int, str]] = []
    for name, history in histories:
        if not history.exists():
            continue
        with history.open(newline="") as handle:
            step = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
        if not step:
            continue
        offset = seconds[-1] + 1 if seconds else 0
        start = int(step[0]["Timestamp"])
        boundaries.append((offset, name))
        seconds += [offset + int(r["Timestamp"]) - start for r in step]
        rows += step
    if not rows:
        return
    figure, latency = plt.subplots(figsize=(10, 4.5))
    for column, color in (("50%", "#2b7bb9"), ("95%", "#d95f02"), ("99%", "#b2182b")):
        values = [float(r[column]) if r[column] not in ("N/A", "") else math.nan for r in rows]
        latency.plot(seconds, values, label=f"p{column.rstrip('%')}", color=color)
    for offset, name in boundaries:
        latency.axvline(offset, color="#bbbbbb", linewidth=0.8)
        latency.annotate(name, (offset, 1), xycoords=("data", "axes fraction"), va="top", size=8)
    latency.set_xlabel("seconds")
    latency.set_ylabel("ms (all routes, last 10 s)")
    rate = latency.twinx()
    rate.plot(seconds, [float(r["Requests/s"]) for r in rows], color="#7f7f7f", linestyle=":")
    rate.set_ylabel("requests/s (dotted)")
    latency.legend(loc="upper left", bbox_to_anchor=(0, 0.92))
    latency.set_title("Latency and throughput over the run")
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    plt.close(figure)
