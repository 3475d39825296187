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
from bench.bundles import measure_bundles
from bench.runner import cold_starts, warm_latency

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="just bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs: a smoke test, not numbers"
    )
    parser.add_argument("--cold-runs", type=int, help="fresh processes per handler (default 15)")
    parser.add_argument(
        "--invocations", type=int, help="warm invocations per endpoint (default 2000)"
    )
    parser.add_argument("--skip-bundles", action="store_true", help="do not build the bundles")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.* are written")
    args = parser.parse_args(argv)
    cold_runs = args.cold_runs or (5 if args.quick else 15)
    invocations = args.invocations or (300 if args.quick else 2000)
    rounds = 2 if args.quick else 4

    started = time.perf_counter()
    print("starting the emulator ...", flush=True)
    stack = start_bench_stack()
    spec: dict[str, Any] = {
        "environment": stack.environment,
        "write_environment": stack.write_environment,
        "reader_claims": stack.reader_claims,
        "writer_claims": stack.writer_claims,
        "order_id": stack.order_id,
    }
    try:
        print(f"cold init: {cold_runs} fresh processes per handler ...", flush=True)
        cold = cold_starts(spec, cold_runs)
        print(f"warm latency: {invocations} invocations per endpoint and variant ...", flush=True)
        warm = warm_latency(spec, invocations, rounds, stack.clear_placed_orders)
    finally:
        stack.stop()
    bundles: dict[str, Any] = {"functions": {}}
    if not args.skip_bundles:
        print("bundles ...", flush=True)
        bundles = measure_bundles()
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} Python {platform.python_version()}",
        "settings": {"quick": args.quick, "cold_runs": cold_runs, "invocations": invocations},
        "cold": cold,
        "warm": warm,
        "bundles": bundles,
    }
    results["ratios"] = report.ratios(results)
    results["targets"] = report.targets(results)
    report.write(results, args.out)
    print(report.markdown(results))
    print(f"written to {args.out} in {time.perf_counter() - started:.0f} s")
    errors = {v: e for v, e in warm["errors"].items() if e}
    if errors:
        print(f"non-2xx responses: {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
