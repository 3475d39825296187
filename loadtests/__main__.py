"""`just load`: start the local stack (or use a deployed one), run Locust headless, gate on SLOs.

Exits non-zero when a route breaches its p95/p99 objective, the error rate exceeds the 5xx
budget, or any response is a 5xx. Writes Locust's HTML report and CSVs and a latency chart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session

from emulator.local_stack import LocalStack
from emulator.seed import seed_demo_data
from loadtests.chart import latency_chart
from loadtests.slo_gate import evaluate, read_server_errors, read_stats

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PASSWORD = "Load-Test-Pass-7"  # noqa: S105 - throwaway load-test users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="just load", description=__doc__)
    parser.add_argument("--users", type=int, default=20, help="simulated users (default 20)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second")
    parser.add_argument("--duration", default="60s", help="run time, e.g. 60s or 2m")
    parser.add_argument(
        "--outputs", type=Path, help="outputs file of a deployed stage (else local)"
    )
    parser.add_argument("--containers", type=int, default=4, help="local containers per function")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where reports are written")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    stack = None
    if args.outputs:
        # The keys `just deploy` writes (StackOutputs's names); no endpoint means AWS itself.
        document = json.loads(args.outputs.read_text())
        base_url, pool, endpoint, region = (
            document["ApiUrl"].rstrip("/"),
            document["UserPoolId"],
            document.get("AwsEndpointUrl") or None,
            document["Region"],
        )
    else:
        print("starting the local stack ...", flush=True)
        stack = LocalStack(
            port=0,
            outputs_path=args.out / "outputs.json",
            seed=seed_demo_data,
            max_containers=args.containers,
            prewarm=args.containers,
        ).start()
        base_url, pool = stack.api_url, stack.outputs.user_pool_id
        endpoint, region = stack.endpoint_url, stack.outputs.region
    try:
        accounts = asyncio.run(create_accounts(args.users, pool, endpoint, region))
        users_file = args.out / "accounts.json"
        users_file.write_text(json.dumps(accounts))
        prefix = args.out / "load"
        command = [
            *(sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"),
            *("--host", base_url, "--users", str(args.users)),
            *("--spawn-rate", str(args.spawn_rate), "--run-time", args.duration),
            *("--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html"),
            *("--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "5"),
        ]
        print(f"locust: {args.users} users for {args.duration} against {base_url}", flush=True)
        environment = {**os.environ, "LOAD_USERS_FILE": str(users_file)}
        subprocess.run(command, check=True, env=environment)  # noqa: S603
    finally:
        if stack is not None:
            stack.stop()
    latency_chart(Path(f"{prefix}_stats_history.csv"), args.out / "latency.png")
    stats = read_stats(Path(f"{prefix}_stats.csv"))
    verdict = evaluate(stats, read_server_errors(Path(f"{prefix}_failures.csv")))
    _print_table(stats)
    if verdict.passed:
        print("PASS: every route within its SLO, no 5xx")
        return 0
    print("FAIL:\n  " + "\n  ".join(verdict.breaches))
    return 1


async def create_accounts(
    count: int, pool_id: str, endpoint: str | None, region: str
) -> list[dict[str, str]]:
    """Confirmed users made through Cognito's admin API (faster than registering each)."""
    options: dict[str, Any] = {"region_name": region}
    if endpoint:
        options["endpoint_url"] = endpoint
    run = uuid.uuid4().hex[:8]
    async with get_session().create_client("cognito-idp", **options) as cognito:

        async def create(index: int) -> dict[str, str]:
            email = f"load-{run}-{index}@example.com"
            await cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",
            )
            await cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
            )
            return {"email": email, "password": PASSWORD}

        return list(await asyncio.gather(*(create(i) for i in range(count))))


def _print_table(stats: list[Any]) -> None:
    print(f"{'route':32} {'requests':>9} {'failures':>9} {'p95 ms':>8} {'p99 ms':>8}")
    for row in stats:
        counts = f"{row.requests:9d} {row.failures:9d}"
        print(f"{row.route:32} {counts} {row.p95_ms:8.0f} {row.p99_ms:8.0f}")


if __name__ == "__main__":
    sys.exit(main())
