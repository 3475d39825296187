"""`just bench [--quick]`: cold init, warm latency and bundle size, ours vs baseline vs floor."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.bench_stack import start_bench_stack
from bench.deployable import sites_by_variant
from bench.report import TRANSPORTS
from bench.request_cost import measure_request_cost
from bench.runner import cold_starts, warm_latency
from bench.sealing import measure_sealing

RESULTS = Path(__file__).resolve().parent / "results"
STEP_LOG = Path(__file__).resolve().parent / "step_log.json"
# Each variant's bundle-like site-packages (links into the environment's).
SITES = Path(__file__).resolve().parent.parent / ".local" / "bench-sites"
PARTS = ("cold", "warm", "bundles", "sealing", "cost")
# A fixed wait per AWS call for the second warm pass: a same-region round trip to AWS.
DEFAULT_LATENCY_MS = 5.0


def main(argv: list[str] | None = None) -> int:
    args = command_line().parse_args(argv)
    transports = TRANSPORTS if args.transport == "both" else (args.transport,)
    parts = set(args.only or PARTS) - ({"bundles"} if args.skip_bundles else set())
    cold_runs = args.cold_runs or (5 if args.quick else 15)
    invocations = args.invocations or (300 if args.quick else 2000)
    rounds = 2 if args.quick else 4

    started = time.perf_counter()
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} Python {platform.python_version()}",
        "settings": {
            "quick": args.quick,
            "cold_runs": cold_runs,
            "invocations": invocations,
            "latency_ms": args.latency_ms,
            "transports": list(transports),
        },
        "transports": {},
    }
    measuring = parts & {"cold", "warm", "sealing", "cost"}
    sites = sites_by_variant(SITES) if measuring else {}  # built once: both transports use them
    for transport in transports if measuring else ():
        measured = _measure(
            transport, sites, parts, (cold_runs, invocations, rounds), args.latency_ms, results
        )
        for once in ("sealing", "cost"):
            if once in measured:
                results[once] = measured.pop(once)
        parts -= {"sealing", "cost"}  # measured once, over the first transport (TLS if measured)
        if measured.keys() & {"cold", "warm"}:
            results["transports"][transport] = measured
    if "bundles" in parts:
        from bench.bundles import measure_bundles  # the CDK libraries load only for this part

        print("bundles ...", flush=True)
        results["bundles"] = measure_bundles()
    results["cold_ratios"] = report.cold_ratios_by_transport(results)
    results["targets"] = report.all_targets(results)
    steps = report.read_steps(STEP_LOG)
    if args.step:
        steps.append(report.step_entry(args.step, results))
        report.write_steps(steps, STEP_LOG)
    results["steps"] = steps
    report.write(results, args.out)
    print(report.markdown(results))
    print(f"written to {args.out} in {time.perf_counter() - started:.0f} s")
    errors = {
        f"{transport} {pass_} {v}": e
        for transport, measured in results["transports"].items()
        for pass_ in ("warm", "warm_latency")
        for v, e in measured.get(pass_, {}).get("errors", {}).items()
        if e
    }
    for endpoint, statuses in results.get("cost", {}).get("statuses", {}).items():
        if bad := {s: n for s, n in statuses.items() if not s.startswith("2")}:
            errors[f"cost {endpoint}"] = bad
    if errors:
        print(f"non-2xx responses: {errors}", file=sys.stderr)
        return 1
    return 0


def command_line() -> argparse.ArgumentParser:
    """The command line of `just bench`."""
    parser = argparse.ArgumentParser(prog="just bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs: a smoke test, not numbers"
    )
    parser.add_argument("--cold-runs", type=int, help="fresh processes per handler (default 15)")
    parser.add_argument(
        "--invocations", type=int, help="warm invocations per endpoint (default 2000)"
    )
    parser.add_argument("--skip-bundles", action="store_true", help="do not build the bundles")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="measure only this part (repeatable); the others are left out of the report",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help="wait per AWS call in the second warm pass (0: no second pass)",
    )
    parser.add_argument(
        "--step", help="record this run's figures in the step log under this description"
    )
    parser.add_argument(
        "--transport",
        choices=(*TRANSPORTS, "both"),
        default="both",
        help="how the probes reach the emulator: tls (HTTPS verified with a local CA, as AWS), "
        "http (plain), or both, each reported as a set of its own (default both)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.* are written")
    return parser


def _measure(
    transport: str,
    sites: dict[str, str],
    parts: set[str],
    runs: tuple[int, int, int],
    latency_ms: float,
    results: dict[str, Any],
) -> dict[str, Any]:
    """Cold and warm figures with the probes reaching the emulator over ``transport``."""
    cold_runs, invocations, rounds = runs
    label = report.TRANSPORT_TITLES[transport]
    print(f"starting the emulator ({label}) ...", flush=True)
    stack = start_bench_stack(tls=transport == "tls")
    spec: dict[str, Any] = {
        "environment": stack.environment,
        "write_environment": stack.write_environment,
        "reader_claims": stack.reader_claims,
        "writer_claims": stack.writer_claims,
        "order_id": stack.order_id,
        "sites": sites,
    }
    measured: dict[str, Any] = {"settings": results["settings"]}
    try:
        if "sealing" in parts:
            sealing_runs = 3 if results["settings"]["quick"] else 10
            print(f"sealing: {sealing_runs} fresh users containers ...", flush=True)
            measured["sealing"] = measure_sealing(spec, sealing_runs, invocations // 3)
        if "cold" in parts:
            print(f"{transport} cold init: {cold_runs} fresh processes per handler ...", flush=True)
            measured["cold"] = cold_starts(spec, cold_runs)
        if "warm" in parts:
            print(f"{transport} warm: {invocations} invocations per endpoint and variant ...")
            measured["warm"] = warm_latency(spec, invocations, rounds, stack.clear_placed_orders)
        if "cost" in parts:
            metered = max(50, invocations // 10)
            print(f"cost: {metered} metered invocations per endpoint (ours) ...", flush=True)
            measured["cost"] = measure_request_cost(spec, metered, stack.clear_placed_orders)
        if "warm" in parts and latency_ms:
            print(f"{transport} warm again, {latency_ms:g} ms per AWS call ...", flush=True)
            stack.set_service_latency(latency_ms)
            measured["warm_latency"] = warm_latency(
                spec, invocations // 2, rounds, stack.clear_placed_orders
            )
    finally:
        stack.stop()
    measured["ratios"] = report.ratios(measured)
    return measured


if __name__ == "__main__":
    sys.exit(main())
