"""How many catalog reads a step revalidated with If-None-Match, and how many were a 304 (pure).

Locust's statistics name requests by route, not by status, so the load file counts these
itself and writes them to ``<prefix>_revalidation.json`` when the step ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Revalidation:
    """A step's catalog reads: all of them, those sent with If-None-Match, the 304s."""

    catalog_reads: int
    revalidations: int
    not_modified: int

    @property
    def not_modified_share(self) -> float | None:
        """304s among all catalog reads: the share a cache in front saves the functions' work."""
        return self.not_modified / self.catalog_reads if self.catalog_reads else None

    def as_document(self) -> dict[str, Any]:
        """The counts and the share, as the summary's JSON holds them."""
        share = self.not_modified_share
        return {
            "catalogReads": self.catalog_reads,
            "revalidations": self.revalidations,
            "notModified": self.not_modified,
            "notModifiedShare": round(share, 3) if share is not None else None,
        }


def read_revalidation(path: Path) -> Revalidation | None:
    """The counts the load file wrote for a step; None when it wrote none."""
    if not path.exists():
        return None
    counts = json.loads(path.read_text())
    return Revalidation(
        catalog_reads=int(counts["catalogReads"]),
        revalidations=int(counts["revalidations"]),
        not_modified=int(counts["notModified"]),
    )


def revalidation_lines(
    steps: Sequence[Mapping[str, Any]], step_name: Callable[[Mapping[str, Any]], str]
) -> list[str]:
    """The summary's table of 304 shares, one row per step that revalidated (else nothing)."""
    counted = [step for step in steps if step.get("revalidation")]
    if not any(step["revalidation"]["revalidations"] for step in counted):
        return []
    lines = [
        "",
        "Catalog reads revalidated with `If-None-Match` (the ETag of an earlier answer):",
        "",
        "| step | catalog reads | with If-None-Match | 304 | 304 share of catalog reads |",
        "|---|---|---|---|---|",
    ]
    for step in counted:
        counts = step["revalidation"]
        share = counts["notModifiedShare"]
        lines.append(
            f"| {step_name(step)} | {counts['catalogReads']} | {counts['revalidations']} "
            f"| {counts['notModified']} | {f'{share:.0%}' if share is not None else '-'} |"
        )
    return lines
