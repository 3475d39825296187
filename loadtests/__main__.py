"""`just load`: start the local system (or use a deployed one), run Locust headless, gate on SLOs.

Each rate in ``--rate`` is a step run against the same stack, lowest first; the run stops at the
first step that breaches an SLO. It exits non-zero when the first step breaches (a route over
its p95/p99 objective, the error rate over the 5xx budget) or when any step saw a 5xx. Writes
``summary.md``/``summary.json`` (rate, latency per route against the SLO, errors, CPU per
component, CPU pressure, load average and, on the local stack, the cost per request of each
route and of the mix: ``loadtests.cost``) and ``latency.png``, plus Locust's reports and CSVs.

``--data large`` runs the steps twice in one run: on the stack as it starts, then again after a
bulk seed of a shop's data (``emulator.bulk_seed``; the load's own accounts are among its users),
and adds both sets side by side to the summary (``loadtests.data_sets``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session

from emulator.bulk_seed import DATA_SETS, SeedReport, ShopSize, seed_shop
from emulator.local_system import LocalSystem
from emulator.seed import seed_demo_data
from emulator.usage_ledger import LEDGER, events_in_flight
from libs.aws_usage import ENV_VARIABLE as MEASURE_AWS_USAGE
from libs.resources.user_pool import ADMIN_GROUP
from libs.stack_outputs import StackOutputs
from loadtests.capacity import (
    TARGET_P99_MS,
    StepResult,
    summary_document,
    summary_markdown,
)
from loadtests.chart import latency_chart
from loadtests.cost import cost_document, cost_markdown
from loadtests.cpu_usage import (
    StackProcesses,
    by_component,
    cores_used,
    cpu_pressure,
    load_average,
)
from loadtests.data_sets import PeakMemory, comparison_document, comparison_markdown, peak_rss_mib
from loadtests.emulator_floor import measure_floor
from loadtests.revalidation import read_revalidation
from loadtests.slo_gate import (
    evaluate,
    read_server_errors,
    read_stats,
    read_steady_rate,
    read_totals,
)
from loadtests.timings import read_timings, with_exact_percentiles

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PASSWORD = "Load-Test-Pass-7"  # noqa: S105 - throwaway load-test users
# Tasks a simulated user runs per second at a set rate: enough users to keep the rate up while
# latency stays under a third of a second, not so many that logging them in dominates.
TASKS_PER_USER = 3.0
CPU_SAMPLE_SECONDS = 1.0
# Catalog views that revalidate with If-None-Match, as clients with a stale copy do.
REVALIDATE_SHARE = 0.5
# After a step, how long its last events may take to be relayed and consumed.
DRAIN_SECONDS = 20.0
_LARGE = DATA_SETS["large"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes."""

    base_url: str
    user_pool_id: str
    endpoint_url: str | None
    region: str
    outputs: StackOutputs | None = None  # the local system's, for the emulator floor and seeds
    ca_bundle: str | None = None  # verifies an HTTPS emulator (`--tls`)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rates = sorted(
        (None if rate.strip() == "shopper" else float(rate) for rate in args.rate.split(",")),
        key=lambda rate: -1.0 if rate is None else rate,
    )
    users = [args.users or _users_for(rate) for rate in rates]
    command = shlex.join(["uv", "run", "just", "load", *(sys.argv[1:] if argv is None else argv)])
    size = _seed_size(args)
    if size is not None and args.outputs:
        raise SystemExit("--data large seeds the local system this run starts; drop --outputs")
    data_sets: dict[str, Any] | None = None
    with _console_apart(args.out / "stack.log"), _target(args) as (target, processes):
        accounts = asyncio.run(
            create_accounts(
                max(users),
                target.user_pool_id,
                target.endpoint_url,
                target.region,
                ca_bundle=target.ca_bundle,
            )
        )
        users_file = args.out / "accounts.json"
        users_file.write_text(json.dumps(accounts))
        # Which process is which, for a profiler (py-spy record -p PID) during the steps.
        (args.out / "processes.json").write_text(json.dumps(processes.describe(), indent=2))
        steps, histories, costs = _run_steps(args, target, processes, users_file, rates, users, "")
        if size is not None:
            empty_steps, memory = steps, {"empty": _peak_memory(processes)}
            report = _seed(target, size, accounts)
            steps, large_histories, large_costs = _run_steps(
                args, target, processes, users_file, rates, users, "large "
            )
            histories += large_histories
            costs += large_costs
            memory["large"] = _peak_memory(processes)
            data_sets = _data_sets(empty_steps, steps, report, memory)
        floor = (
            asyncio.run(measure_floor(target.outputs, processes.emulator_cpu_seconds))
            if args.floor and target.outputs is not None
            else []
        )
    document = summary_document(
        steps,
        command=command,
        cpu_count=os.cpu_count() or 1,
        emulator=_emulator_label(args),
        p99_ms=args.p99_ms,
        floor=floor,
    )
    document["cost"] = [{"step": name, **cost} for name, cost in costs]
    markdown = summary_markdown(document) + cost_markdown(costs)
    if data_sets is not None:
        document["data_sets"] = data_sets
        markdown += "\n" + comparison_markdown(data_sets)
    (args.out / "summary.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "summary.md").write_text(markdown)
    latency_chart(histories, args.out / "latency.png")
    print()
    print(markdown)
    problems = list(steps[0].verdict.breaches) if steps else ["no step ran"]
    later_5xx = sum(step.server_errors for step in steps[1:])
    if later_5xx:
        problems.append(f"{later_5xx} responses were 5xx in the later steps")
    if data_sets is not None and not data_sets["passed"]:
        problems.append("the large data set: a route over its p50 ratio or its SLO (see above)")
    if not problems:
        print("PASS: every route within its SLO, no 5xx")
        return 0
    print("FAIL:\n  " + "\n  ".join(problems))
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="just load", description=__doc__)
    parser.add_argument(
        "--rate",
        default="150",
        help="total requests/s; a comma-separated list runs one step per rate, lowest first, "
        "to find the capacity (default 150; 'shopper' for users at a shopper's pace)",
    )
    parser.add_argument(
        "--users",
        type=int,
        help=f"simulated users (default: one per {TASKS_PER_USER:.0f} req/s of the rate; 20 at a "
        "shopper's pace)",
    )
    parser.add_argument(
        "--spawn-rate", type=float, help="users started per second (default: all in 5 s)"
    )
    parser.add_argument("--duration", default="45s", help="run time per step, e.g. 45s or 2m")
    parser.add_argument(
        "--warm-up", default="10s", help="unmeasured load before the first step (0s: none)"
    )
    parser.add_argument(
        "--outputs", type=Path, help="outputs file of a deployed stage (else the local system)"
    )
    parser.add_argument(
        "--containers",
        type=int,
        default=8,
        help="most containers a local function scales to, as Lambda does on demand (default 8)",
    )
    parser.add_argument(
        "--prewarm", type=int, default=4, help="containers started per function before any load"
    )
    parser.add_argument(
        "--emulator",
        choices=("process", "in-process"),
        default="process",
        help="moto in a process of its own (default) or inside the gateway's process",
    )
    parser.add_argument(
        "--p99-ms", type=float, default=TARGET_P99_MS, help="the p99 target over all routes"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="after the steps, measure the emulator alone (GetItem, Query) for comparison",
    )
    parser.add_argument(
        "--revalidate",
        type=float,
        default=REVALIDATE_SHARE,
        help="share of catalog views that revalidate an answer seen before with its ETag "
        f"(If-None-Match); the summary reports the 304s (default {REVALIDATE_SHARE}; 0: none)",
    )
    parser.add_argument(
        "--no-cost",
        action="store_true",
        help="do not meter the local functions' AWS usage (no cost per request in the summary)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="the functions reach the emulator over HTTPS with a local CA, as they reach AWS",
    )
    parser.add_argument(
        "--data",
        choices=("empty", *DATA_SETS),
        default="empty",
        help="'large': run the steps on the stack as started, then again after a bulk seed of "
        f"a shop ({_LARGE.orders:,} orders, {_LARGE.users:,} users, {_LARGE.products:,} "
        "products), and compare the two",
    )
    parser.add_argument("--seed-orders", type=int, help="orders the seed writes (with --data)")
    parser.add_argument("--seed-users", type=int, help="users the seed writes (with --data)")
    parser.add_argument("--seed-products", type=int, help="products the seed writes (with --data)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where reports are written")
    return parser


def _run_steps(
    args: argparse.Namespace,
    target: Target,
    processes: StackProcesses,
    users_file: Path,
    rates: list[float | None],
    users: list[int],
    label: str,
) -> tuple[list[StepResult], list[tuple[str, Path]], list[tuple[str, dict[str, Any]]]]:
    """The warm-up, then each step, lowest rate first, until one breaches an SLO.

    Each step's name, history and cost start with ``label`` (the data set, when there are two).
    """
    if args.warm_up not in ("0", "0s"):
        # At the fastest step's rate: each container's first invocation creates its clients
        # and loads their models, and the busy functions scale out (as Lambda does) before
        # any step is measured, instead of paying cold starts inside one.
        prefix = args.out / f"{label.replace(' ', '-')}warm-up"
        _run_step(args, target, processes, users_file, prefix, rates[-1], users[-1], args.warm_up)
    steps: list[StepResult] = []
    costs: list[tuple[str, dict[str, Any]]] = []
    histories: list[tuple[str, Path]] = []
    for rate, count in zip(rates, users, strict=True):
        name = f"{rate:.0f}rps" if rate is not None else "shopper"
        prefix = args.out / f"{label.replace(' ', '-')}load-{name}"
        before = LEDGER.snapshot()
        step = _run_step(args, target, processes, users_file, prefix, rate, count, args.duration)
        steps.append(step)
        step_name, cost = _step_cost(step, before)
        costs.append((f"{label}{step_name}", cost))
        histories.append((f"{label}{name}", Path(f"{prefix}_stats_history.csv")))
        print(_step_line(step), flush=True)
        if not step.within_slo:
            break
    return steps, histories, costs


# -- the large data set (kept apart from the rest of the summary) ------------------------------


def _seed_size(args: argparse.Namespace) -> ShopSize | None:
    """The shop ``--data`` and the ``--seed-*`` options ask for (None: no seed)."""
    if args.data == "empty":
        return None
    named = DATA_SETS[args.data]
    return ShopSize(
        orders=args.seed_orders if args.seed_orders is not None else named.orders,
        users=args.seed_users if args.seed_users is not None else named.users,
        products=args.seed_products if args.seed_products is not None else named.products,
    )


def _seed(target: Target, size: ShopSize, accounts: list[dict[str, Any]]) -> SeedReport:
    """Bulk-seed the local system; the load's accounts are among the seeded users."""
    if target.outputs is None or target.endpoint_url is None:
        raise SystemExit("--data large needs the local system (moto)")
    print(f"seeding {size.orders:,} orders, {size.users:,} users ...", flush=True)
    report = asyncio.run(
        seed_shop(
            target.endpoint_url,
            target.region,
            target.outputs.table_name,
            size,
            user_ids=[account["userId"] for account in accounts],
            ca_bundle=target.ca_bundle,
        )
    )
    print(f"  {report.line()}", flush=True)
    return report


def _peak_memory(processes: StackProcesses) -> PeakMemory:
    """The emulator's and the gateway's (this process's) peak resident memory so far."""
    emulator = processes.emulator
    return PeakMemory(
        emulator_mib=peak_rss_mib(emulator if emulator is not None else os.getpid()),
        gateway_mib=peak_rss_mib(os.getpid()),
        same_process=emulator is None,
    )


def _data_sets(
    empty: list[StepResult],
    large: list[StepResult],
    report: SeedReport,
    memory: dict[str, PeakMemory],
) -> dict[str, Any]:
    """Both data sets side by side, from the first (lowest-rate) step each set ran."""
    seed = {
        "orders": report.size.orders,
        "users": report.size.users,
        "products": report.size.products,
        "items": report.items,
        "seconds": round(report.seconds, 1),
        "items_per_second": round(report.items_per_second),
    }
    return comparison_document(empty[0].routes, large[0].routes, seed=seed, memory=memory)


@contextmanager
def _console_apart(log: Path) -> Iterator[None]:
    """Send what the stack's processes write (the functions' logs) to ``log``, not the terminal.

    Child processes inherit file descriptors 1 and 2, so those go to the file, while this
    process's own ``print`` keeps a duplicate of the terminal.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("wb") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
    console = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    stdout = sys.stdout
    sys.stdout = console
    try:
        yield
    finally:
        sys.stdout = stdout
        console.close()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[Target, StackProcesses]]:
    """The stage under load and its processes: a deployed one, or a local system started here."""
    if args.outputs:
        # The keys `just deploy` writes (StackOutputs's names); no endpoint means AWS itself.
        document = json.loads(args.outputs.read_text())
        if document.get("AwsEndpointUrl"):
            _emulator_credentials()  # a running `just dev`: any credentials will do
        yield (
            Target(
                base_url=document["ApiUrl"].rstrip("/"),
                user_pool_id=document["UserPoolId"],
                endpoint_url=document.get("AwsEndpointUrl") or None,
                region=document["Region"],
                ca_bundle=document.get("AwsCaBundle") or None,
            ),
            StackProcesses(local=False),
        )
        return
    if not args.no_cost:
        # The containers inherit it: each meters its invocations for the cost per request.
        os.environ[MEASURE_AWS_USAGE] = "1"
    print("starting the local system ...", flush=True)
    stack = LocalSystem(
        backend="moto",
        moto_in_process=args.emulator == "in-process",
        port=0,
        outputs_path=args.out / "outputs.json",
        seed=seed_demo_data,
        max_containers=args.containers,
        tls=args.tls,
    ).start()
    try:
        # A few containers per function started before any request, one function at a time:
        # dozens of interpreters importing at once can outrun Lambda's init timeout. The busy
        # functions then scale up during the warm-up, as Lambda would.
        asyncio.run(_warm(stack, min(args.prewarm, args.containers)))
        emulator = stack.emulator_pid
        print(
            f"gateway pid {os.getpid()} at {stack.api_url}; emulator "
            + (f"pid {emulator}" if emulator is not None else "in the gateway's process")
            + f" at {stack.endpoint_url}",
            flush=True,
        )
        yield (
            Target(
                base_url=stack.api_url,
                user_pool_id=stack.outputs.user_pool_id,
                endpoint_url=stack.endpoint_url,
                region=stack.outputs.region,
                outputs=stack.outputs,
                ca_bundle=stack.outputs.aws_ca_bundle or None,
            ),
            StackProcesses(
                emulator=emulator,
                functions=lambda: {
                    pid: name for name, pool in stack.pools.items() for pid in pool.pids
                },
            ),
        )
    finally:
        stack.stop()


def _emulator_credentials() -> None:
    # botocore refuses to sign without credentials; the emulator accepts any.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


async def _warm(stack: LocalSystem, containers: int) -> None:
    for pool in stack.pools.values():
        await pool.prewarm(containers)


def _run_step(
    args: argparse.Namespace,
    target: Target,
    processes: StackProcesses,
    users_file: Path,
    prefix: Path,
    rate: float | None,
    users: int,
    duration: str,
) -> StepResult:
    """Run Locust once at ``rate`` (or a shopper's pace) and read what it measured."""
    spawn_rate = args.spawn_rate or max(5.0, users / 5)
    command = [
        *(sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"),
        *("--host", target.base_url, "--users", str(users)),
        *("--spawn-rate", str(spawn_rate), "--run-time", duration),
        *("--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html"),
        *("--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "5"),
    ]
    environment = {
        **os.environ,
        "LOAD_USERS_FILE": str(users_file),
        "LOAD_REVALIDATE_SHARE": str(args.revalidate),
        "LOAD_REVALIDATION_FILE": f"{prefix}_revalidation.json",
        "LOAD_TIMINGS_FILE": f"{prefix}_timings.json",
    }
    if rate is not None:
        environment["LOAD_TASKS_PER_USER"] = str(rate / users)
    pace = f"{rate:.0f} req/s" if rate is not None else "a shopper's pace"
    Path(environment["LOAD_REVALIDATION_FILE"]).unlink(missing_ok=True)  # a previous run's
    Path(environment["LOAD_TIMINGS_FILE"]).unlink(missing_ok=True)
    print(f"locust: {users} users at {pace} for {duration} against {target.base_url}", flush=True)
    log = Path(f"{prefix}.log")
    with log.open("wb") as output:
        started = time.monotonic()
        locust = subprocess.Popen(command, env=environment, stdout=output, stderr=output)  # noqa: S603
        processes.load_generator = locust.pid
        before = after = processes.sample()
        # Sampled until Locust ends: a process that has exited can no longer be measured.
        while locust.poll() is None:
            time.sleep(CPU_SAMPLE_SECONDS)
            sample = processes.sample()
            if locust.pid in sample.by_process:
                after = sample
        status = locust.wait()
    if status != 0:
        raise RuntimeError(f"locust exited with status {status}; see {log}")
    timings = read_timings(Path(environment["LOAD_TIMINGS_FILE"]))
    stats = with_exact_percentiles(read_stats(Path(f"{prefix}_stats.csv")), timings)
    (totals,) = with_exact_percentiles([read_totals(Path(f"{prefix}_stats.csv"))], timings)
    server_errors = read_server_errors(Path(f"{prefix}_failures.csv"))
    return StepResult(
        target_rps=rate,
        users=users,
        seconds=time.monotonic() - started,
        routes=tuple(stats),
        totals=totals,
        server_errors=server_errors,
        verdict=evaluate(stats, server_errors),
        cores=cores_used(before, after),
        load_average=load_average(),
        cpu_pressure=cpu_pressure(before, after),
        steady_rps=read_steady_rate(Path(f"{prefix}_stats_history.csv")),
        revalidation=read_revalidation(Path(f"{prefix}_revalidation.json")),
    )


def _step_cost(step: StepResult, before: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The step's cost per route and for its mix, from what the functions metered."""
    name = f"{step.target_rps:.0f} req/s" if step.target_rps is not None else "shopper pace"
    # The events of the step's last requests are still being relayed and consumed.
    deadline = time.monotonic() + DRAIN_SECONDS
    usage = LEDGER.since(before)
    while events_in_flight(usage) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        usage = LEDGER.since(before)
    return name, cost_document(usage)


def _users_for(rate: float | None) -> int:
    return 20 if rate is None else max(10, math.ceil(rate / TASKS_PER_USER))


def _emulator_label(args: argparse.Namespace) -> str:
    if args.outputs:
        return f"the stage in {args.outputs}"
    if args.emulator == "process":
        where = "moto in its own process"
    else:
        where = "moto inside the gateway's process"
    transport = "HTTPS (local CA)" if args.tls else "plain HTTP"
    return (
        f"{where}, reached over {transport}; up to {args.containers} containers per function "
        f"({args.prewarm} prewarmed)"
    )


def _step_line(step: StepResult) -> str:
    totals = step.totals
    verdict = "within SLO" if step.within_slo else "SLO breached"
    cores = ", ".join(f"{name} {used:.2f}" for name, used in by_component(step.cores).items())
    return (
        f"  {step.achieved_rps:.1f} req/s, p95 {totals.p95_ms:.0f} ms, p99 {totals.p99_ms:.0f} ms,"
        f" {totals.failures} errors: {verdict}; cores: {cores}; load {step.load_average[0]:.2f}"
        + (f"; CPU pressure {step.cpu_pressure:.0%}" if step.cpu_pressure is not None else "")
    )


async def create_accounts(
    count: int,
    pool_id: str,
    endpoint: str | None,
    region: str,
    *,
    admins: int = 1,
    ca_bundle: str | None = None,
) -> list[dict[str, Any]]:
    """Confirmed users made through Cognito's admin API (faster than registering each).

    ``count`` shoppers, then ``admins`` more in the admin group (``"admin": true``).
    """
    options: dict[str, Any] = {"region_name": region}
    if endpoint:
        options["endpoint_url"] = endpoint
    if ca_bundle:
        options["verify"] = ca_bundle
    run = uuid.uuid4().hex[:8]
    async with get_session().create_client("cognito-idp", **options) as cognito:

        async def create(index: int) -> dict[str, Any]:
            admin = index >= count
            email = f"load-{run}-{'admin-' if admin else ''}{index}@example.com"
            created = await cognito.admin_create_user(
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
            if admin:
                await cognito.admin_add_user_to_group(
                    UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP
                )
            attributes = {a["Name"]: a["Value"] for a in created["User"].get("Attributes", [])}
            return {
                "email": email,
                "password": PASSWORD,
                "userId": attributes.get("sub", ""),
                "admin": admin,
            }

        return list(await asyncio.gather(*(create(i) for i in range(count + admins))))


if __name__ == "__main__":
    sys.exit(main())
