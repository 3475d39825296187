"""The load summary's 304 share: catalog reads revalidated with If-None-Match."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests.capacity import StepResult, summary_document, summary_markdown
from loadtests.revalidation import Revalidation, read_revalidation
from loadtests.slo_gate import RouteStats, Verdict


def a_step(revalidation: Revalidation | None) -> StepResult:
    totals = RouteStats("Aggregated", 1000, 0, 40, 80, requests_per_second=100)
    return StepResult(
        target_rps=100,
        users=30,
        seconds=45,
        routes=(RouteStats("GET /products", 1000, 0, 40, 80),),
        totals=totals,
        server_errors=0,
        verdict=Verdict(()),
        revalidation=revalidation,
    )


def test_the_304_share_is_counted_against_every_catalog_read() -> None:
    counts = Revalidation(catalog_reads=800, revalidations=300, not_modified=290)
    assert counts.not_modified_share == 290 / 800
    assert Revalidation(0, 0, 0).not_modified_share is None


def test_the_summary_reports_each_steps_304_share(tmp_path: Path) -> None:
    # Given the counts the load file wrote for a step
    written = tmp_path / "load-100rps_revalidation.json"
    written.write_text(json.dumps({"catalogReads": 800, "revalidations": 300, "notModified": 290}))
    step = a_step(read_revalidation(written))
    # When the summary is written
    document = summary_document([step], command="just load", cpu_count=2, emulator="moto")
    markdown = summary_markdown(document)
    # Then it states the counts and the share of catalog reads answered 304
    assert document["steps"][0]["revalidation"] == {
        "catalogReads": 800,
        "revalidations": 300,
        "notModified": 290,
        "notModifiedShare": 0.362,
    }
    assert "| 100 req/s | 800 | 300 | 290 | 36% |" in markdown


def test_a_run_that_did_not_revalidate_has_no_304_table(tmp_path: Path) -> None:
    assert read_revalidation(tmp_path / "missing.json") is None
    without = summary_markdown(
        summary_document([a_step(None)], command="x", cpu_count=2, emulator="moto")
    )
    never = summary_markdown(
        summary_document(
            [a_step(Revalidation(500, 0, 0))], command="x", cpu_count=2, emulator="moto"
        )
    )
    assert "If-None-Match" not in without
    assert "If-None-Match" not in never
