"""The bench's verdicts: ratios, overhead above each SDK's floor, targets, and what probes see."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.deployable import closure
from bench.floor import FloorRequests
from bench.probe import ENDPOINTS


def warm_pass(cpu: dict[str, float], wall: dict[str, float]) -> dict[str, Any]:
    """One warm pass where every endpoint measured these p50s per variant."""

    def by_variant(p50: dict[str, float]) -> dict[str, Any]:
        return {
            v: {e: {"p50": ms, "p95": ms, "p99": ms} for e in ENDPOINTS} for v, ms in p50.items()
        }

    return {"latency": by_variant(wall), "cpu": by_variant(cpu), "same_responses": {}}


def results(cpu: dict[str, float], wall: dict[str, float], **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "settings": {"quick": False, "latency_ms": 5.0},
        "measured_at": "now",
        "machine": "test",
        "warm": warm_pass(cpu, wall),
        **extra,
    }
    found["ratios"] = report.ratios(found)
    return found


def test_each_implementation_is_charged_only_what_it_adds_to_its_own_sdk() -> None:
    # Given ours 0.2 ms of CPU above raw aiobotocore, the baseline 0.8 ms above raw boto3
    measured = results(
        cpu={"ours": 2.2, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 6.0, "floor": 5.9, "baseline": 6.4, "floor_boto3": 6.0},
    )
    warm = measured["ratios"]["warm"]["get_order"]
    # Then the overhead ratio is 0.2 / 0.8, and the target (≤ 0.25x) is met
    assert warm["overhead cpu ours/baseline"] == 0.25
    assert warm["overhead cpu ms"] == {
        "ours": 0.2,
        "baseline": 0.8,
        "baseline above the aiobotocore floor": -0.2,
    }
    # While above the shared aiobotocore floor the baseline's framework would hide entirely
    assert warm["overhead cpu ours/baseline, shared floor"] is None
    rows = {t["target"]: t for t in report.targets(measured)}
    target = rows["GET /orders/{orderId}: overhead above the floor ≤ 0.25x the baseline's"]
    assert target["met"] is True


def test_a_ratio_over_the_limit_is_not_met() -> None:
    measured = results(
        cpu={"ours": 2.6, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 7.0, "floor": 6.0, "baseline": 6.4, "floor_boto3": 6.0},
    )
    rows = {t["target"]: t for t in report.targets(measured)}
    overhead = rows["GET /orders: overhead above the floor ≤ 0.25x the baseline's"]
    assert overhead["value"] == 0.75
    assert overhead["met"] is False
    floor = rows["GET /orders ≤ 1.1x floor"]
    assert floor["value"] == pytest.approx(1.167)
    assert floor["met"] is False


def test_cold_targets_are_judged_on_wall_clock_with_cpu_beside_them() -> None:
    def handler(wall: float, cpu: float) -> dict[str, float]:
        return {"median": wall, "cpu_median": cpu}

    cold = {
        f"{variant} {service} {tracing}": handler(wall, wall * 0.9)
        for tracing in report.TRACING
        for service in report.SERVICES
        for variant, wall in (("ours", 300.0), ("baseline", 400.0))
    }
    measured: dict[str, Any] = {"settings": {"quick": True}, "measured_at": "now", "cold": cold}
    measured["ratios"] = report.ratios(measured)
    rows = report.targets(measured)
    assert len(rows) == 4
    assert all(row["value"] == 0.75 and row["met"] for row in rows)
    assert all(row["also"] == "CPU 0.75" for row in rows)
    # And the step log keeps those ratios with the change that produced them
    entry = report.step_entry("a change", measured)
    assert entry["cold"]["traced"]["users"] == {"wall": 0.75, "cpu": 0.75}


def test_the_report_shows_each_target_with_its_verdict() -> None:
    measured = results(
        cpu={"ours": 2.2, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 6.0, "floor": 5.9, "baseline": 6.4, "floor_boto3": 6.0},
    )
    measured["targets"] = report.targets(measured)
    text = report.markdown(measured)
    assert "| GET /orders ≤ 1.1x floor | wall-clock p50 | 1.017 | yes |" in text
    assert "floor (raw boto3)" in text


def test_bundles_are_judged_against_their_own_budget() -> None:
    # Given bundle sizes for a function that seals personal fields and one that does not
    sizes = {"users": 21.5, "orders": 9.7}
    measured = results(
        cpu={"ours": 2.2, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 6.0, "floor": 5.9, "baseline": 6.4, "floor_boto3": 6.0},
        bundles={"functions": {name: {"ours": {"mb": mb}} for name, mb in sizes.items()}},
    )
    # When the targets are judged
    verdicts = {t["target"]: t["met"] for t in report.targets(measured)}
    # Then each is held to its declared budget (more for the function that calls KMS)
    assert verdicts["bundle users ≤ 22 MB unzipped"] is True
    assert verdicts["bundle orders ≤ 10 MB unzipped"] is True


def test_the_sealing_costs_are_reported_cold_and_warm() -> None:
    measured = results(
        cpu={"ours": 2.2, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 6.0, "floor": 5.9, "baseline": 6.4, "floor_boto3": 6.0},
        sealing={
            "runs": 3,
            "invocations": 100,
            "once": {"first PUT": 44.0, "seal field (µs)": 12.2},
            "warm": {"warm PUT": {"p50": 28.46, "p95": 57.8, "p99": 78.64}},
        },
    )
    measured["targets"] = report.targets(measured)
    text = report.markdown(measured)
    assert "| first PUT | 44.0 |" in text
    assert "| warm PUT | 28.46 | 57.80 | 78.64 |" in text


def test_probes_see_the_bundles_dependencies_extras_included() -> None:
    # Our bundle: Powertools with its tracer extra brings the X-Ray SDK, and nothing of the bench
    ours = closure(["aws-lambda-powertools[tracer]", "aiobotocore", "msgspec"])
    assert {"aws-xray-sdk", "wrapt", "aiohttp", "botocore"} <= ours
    assert not {"boto3", "pydantic", "requests", "moto"} & ours
    # Without the extra, no X-Ray SDK
    assert "aws-xray-sdk" not in closure(["aws-lambda-powertools"])


def test_the_floors_make_exactly_each_endpoints_aws_calls() -> None:
    requests = FloorRequests("table", "pool", "reader", "writer", "order-1")
    assert [op for _, op, _ in requests.get_order()] == ["get_item"]
    assert [(c, op) for c, op, _ in requests.get_me()] == [
        ("cognito", "admin_get_user"),
        ("db", "get_item"),
    ]
    reads, products, write = requests.post_order()
    assert (reads[1], products[1], write[1]) == (
        "get_item",
        "batch_get_item",
        "transact_write_items",
    )
    # Every item of the transaction is conditioned on not existing yet
    puts = write[2]["TransactItems"]
    assert len(puts) == 3
    assert all("attribute_not_exists" in p["Put"]["ConditionExpression"] for p in puts)


def test_the_cold_start_ratio_is_reported_over_tls_and_over_plain_http() -> None:
    # Given cold figures over TLS (ours 260 vs 400 ms) and over plain HTTP (ours 240 vs 360 ms)
    def cold_set(ours: float, baseline: float) -> dict[str, Any]:
        cold = {
            f"{variant} {service} {tracing}": {"median": wall, "p95": wall, "cpu_median": wall}
            for tracing in report.TRACING
            for service in report.SERVICES
            for variant, wall in (("ours", ours), ("baseline", baseline))
        }
        measured: dict[str, Any] = {"settings": {"quick": True, "cold_runs": 1}, "cold": cold}
        measured["ratios"] = report.ratios(measured)
        return measured

    measured: dict[str, Any] = {
        "settings": {"quick": True, "cold_runs": 1, "latency_ms": 0},
        "measured_at": "now",
        "machine": "test",
        "transports": {"tls": cold_set(260.0, 400.0), "http": cold_set(240.0, 360.0)},
    }
    measured["targets"] = report.all_targets(measured)
    # When the report is written
    text = report.markdown(measured)
    # Then each transport's ratio stands side by side, with what TLS added to each
    assert (
        "| orders | untraced | 0.65 (0.65) | 0.667 (0.667) | +20.0 (+20.0) | +40.0 (+40.0) |"
        in text
    )
    assert "### Measured over TLS" in text
    assert "### Measured over plain HTTP" in text
    # And each target is judged once per transport, labelled
    names = [t["target"] for t in measured["targets"]]
    assert "cold init orders ≤ 0.8x baseline (tracing off), TLS" in names
    assert "cold init orders ≤ 0.8x baseline (tracing off), plain HTTP" in names
    # And the step log keeps the TLS figures
    assert report.step_entry("a change", measured)["transport"] == "tls"


def test_metered_invocations_are_priced_per_route_and_reported() -> None:
    from bench.request_cost import as_invocation_usage
    from emulator.usage_ledger import UsageTotals
    from loadtests.cost import cost_document

    # Given two metered GET /orders invocations, as the metered probe reports them
    reported = [
        {
            "route": "GET /orders",
            "duration_ms": duration,
            "cpu_ms": 2.0,
            "log_bytes": 500,
            "aws": {"read_units": 0.5, "calls": {"dynamodb Query": 1}},
        }
        for duration in (7.2, 8.9)
    ]
    totals = UsageTotals()
    for invocation in reported:
        totals.add(as_invocation_usage(invocation), memory_mb=1024)
    # When they are priced and reported
    cost = cost_document({"GET /orders": totals})
    timings = results(
        cpu={"ours": 2.2, "floor": 2.0, "baseline": 1.8, "floor_boto3": 1.0},
        wall={"ours": 6.0, "floor": 5.9, "baseline": 6.4, "floor_boto3": 6.0},
    )
    text = report.markdown({**timings, "targets": [], "cost": cost})
    # Then the route is billed per millisecond started at 1 GB (8 and 9 ms: 8.5 ms on average)
    (route,) = cost["routes"]
    assert route["requests"] == 2
    assert route["lambdaBilledMs"] == 8.5
    assert route["lambdaGbSeconds"] == pytest.approx(0.0085)
    assert route["readUnits"] == 0.5
    # And the report has its row, its dollars, and the API's request its largest part
    row = next(line for line in text.splitlines() if line.startswith("| GET /orders | 2 |"))
    assert f"| {route['usdPerMillion']:.2f} |" in row
    assert "API Gateway" in row
