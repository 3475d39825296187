"""Drives the probes: cold starts as fresh processes, warm latency from long-lived ones."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from bench.probe import ENDPOINTS, READY, SITE
from bench.stats import summary

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("ours", "baseline", "floor", "floor_boto3")
WRITES = frozenset({"post_order"})
# The cold floor that only imports botocore: it answers nothing, its process's life is timed.
IMPORT_FLOOR = "floor (import botocore)"
WRITE_BLOCK = 100
# Host settings that would make the probes unlike Lambda (as the function pool drops them).
_HOST_ONLY = ("POWERTOOLS_DEV", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "PYTHONDONTWRITEBYTECODE")
# Cold starts with tracing off (as the emulator runs functions) and on (as Lambda does with
# active tracing: the X-Ray SDK loads, patches and sends a subsegment per AWS call).
TRACING = ("untraced", "traced")
_TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def lambda_variables(function_name: str, memory_mb: int = 1024) -> dict[str, str]:
    """The variables Lambda's runtime sets, as the emulator's function pool sets them.

    Libraries read them: the X-Ray SDK outside Lambda builds a centralized sampler (two botocore
    clients, ~130 ms at import) that it never builds in Lambda.
    """
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "TZ": ":UTC",
    }


def probe_environment(
    spec: dict[str, Any],
    variant: str,
    *,
    role: str = "reads",
    function_name: str = "bench",
    traced: bool = False,
    xray_daemon: str | None = None,
) -> dict[str, str]:
    """The function environment plus the spec: what a probe process runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _HOST_ONLY}
    env.update(spec["environment"] if role == "reads" else spec["write_environment"])
    env.update(lambda_variables(function_name))
    env["PYTHONPATH"] = str(ROOT)
    env["BENCH_SPEC"] = json.dumps(spec)
    if variant in spec.get("sites", {}):
        env[SITE] = spec["sites"][variant]
    if traced:
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
        env["_X_AMZN_TRACE_ID"] = _TRACE_HEADER
        env["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon or "127.0.0.1:2000"
    return env


class XRayDaemon:
    """A UDP socket where traced probes send their segments: counted, then dropped."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.aws_subsegments = 0
        self._running = True
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while self._running:
            try:
                datagram = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            # "header\nsegment document": a subsegment of an AWS call has namespace "aws".
            if b'"namespace": "aws"' in datagram or b'"namespace":"aws"' in datagram:
                self.aws_subsegments += 1

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        self._socket.close()


@contextmanager
def xray_daemon() -> Iterator[XRayDaemon]:
    """A listening stand-in for the X-Ray daemon, for the life of the block."""
    daemon = XRayDaemon()
    try:
        yield daemon
    finally:
        daemon.close()


def cold_starts(spec: dict[str, Any], runs: int) -> dict[str, Any]:
    """Fresh interpreter to first response, untraced and traced, interleaved A B A B.

    Per handler: wall-clock milliseconds (what a caller waits) and the probe's CPU milliseconds
    (what the handler's process computed: robust to other load on the machine, blind to waits).
    """
    floor_env = probe_environment(spec, "floor")
    results: dict[str, Any] = {}
    with xray_daemon() as daemon:
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            IMPORT_FLOOR: (
                [sys.executable, "-c", "import botocore.session"],
                floor_env,
            )
        }
        # Each SDK alone to the same first answer (clients, first connection, GetItem): what
        # connecting costs without any framework, over whichever transport is measured.
        for floor in ("floor", "floor_boto3"):
            commands[f"{floor} orders untraced"] = (
                [sys.executable, "-m", "bench.probe", "cold", floor, "orders"],
                probe_environment(spec, floor, function_name="orders"),
            )
        for tracing in TRACING:
            for service in ("orders", "users"):
                for variant in ("ours", "baseline"):
                    env = probe_environment(
                        spec,
                        variant,
                        function_name=service,
                        traced=tracing == "traced",
                        xray_daemon=daemon.address,
                    )
                    command = [sys.executable, "-m", "bench.probe", "cold", variant, service]
                    commands[f"{variant} {service} {tracing}"] = (command, env)
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        subsegments: dict[str, int] = {}
        failures: dict[str, dict[str, int]] = {name: {} for name in commands}
        # The first round only fills caches (bytecode, page cache).
        for round_ in range(runs + 1):
            for name, (command, env) in commands.items():
                before = daemon.aws_subsegments
                elapsed, cpu_ms, status = _time_process(
                    command, env, wait_for_ready=name != IMPORT_FLOOR
                )
                if name != IMPORT_FLOOR and not status.startswith("2"):
                    failures[name][status] = failures[name].get(status, 0) + 1
                if round_:
                    wall[name].append(elapsed)
                    cpu[name].append(cpu_ms)
                time.sleep(0.01)  # let the last datagrams arrive before they are attributed
                subsegments[name] = subsegments.get(name, 0) + daemon.aws_subsegments - before
    for name in commands:
        results[name] = {
            **summary(wall[name]),
            "median": round(statistics.median(wall[name]), 1),
            "cpu_median": round(statistics.median(cpu[name]), 1),
            "aws_subsegments": subsegments[name],
            "failures": failures[name],
        }
    return results


def _time_process(
    command: list[str], env: dict[str, str], *, wait_for_ready: bool
) -> tuple[float, float, str]:
    """Wall-clock ms to the probe's first response, its CPU ms by then, and the status."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.PIPE, text=True
        )
        try:
            return _timed(process, started, wait_for_ready=wait_for_ready)
        except RuntimeError as error:
            if process.returncode is None:
                process.communicate(timeout=60)
            output.seek(0)
            raise RuntimeError(f"{error}\nits output ends: {output.read()[-3000:]}") from None


def _timed(
    process: subprocess.Popen[str], started: float, *, wait_for_ready: bool
) -> tuple[float, float, str]:
    command = process.args
    assert process.stderr is not None
    elapsed = cpu_ms = None
    status = "exit"
    seen: list[str] = []
    if wait_for_ready:
        for line in process.stderr:
            seen.append(line)
            if line.startswith(READY):
                elapsed = (time.perf_counter() - started) * 1000
                _, status, cpu_text = line.split()
                cpu_ms = float(cpu_text)
                break
    rest = "".join(seen) + process.stderr.read()
    _, wait_status, usage = os.wait4(process.pid, 0)
    process.returncode = code = os.waitstatus_to_exitcode(wait_status)
    if elapsed is None:
        if code != 0 or wait_for_ready:
            raise RuntimeError(f"{command!r} failed with exit status {code}: {rest[-2000:]}")
        elapsed = (time.perf_counter() - started) * 1000
    if cpu_ms is None:  # the floor reports nothing: its whole life is the import
        cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
    return elapsed, cpu_ms, status


class WarmProbe:
    """One implementation's handlers in a process of their own, kept warm between commands."""

    def __init__(
        self,
        variant: str,
        spec: dict[str, Any],
        role: str,
        *,
        command: str = "warm",
        environment: dict[str, str] | None = None,
    ) -> None:
        self.variant = variant
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.probe", command, variant],
            env={**probe_environment(spec, variant, role=role), **(environment or {})},
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._send(json.dumps(spec))
        self._receive()

    def run(self, endpoint: str, count: int) -> dict[str, Any]:
        self._send(f"{endpoint} {count}")
        return self._receive()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def _send(self, line: str) -> None:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.variant} probe died (exit {self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply


def warm_latency(
    spec: dict[str, Any], invocations: int, rounds: int, clear_writes: Callable[[], None]
) -> dict[str, Any]:
    """Per endpoint and variant: wall-clock and CPU milliseconds per invocation (p50/p95/p99).

    Variants take turns in blocks, reads before writes. The CPU time is the probe's own: what the
    handler computes per invocation (the SDK's included), without the emulator's time or noise.
    """
    probes = {variant: WarmProbe(variant, spec, "reads") for variant in VARIANTS}
    writers = {variant: WarmProbe(variant, spec, "writes") for variant in VARIANTS}
    samples: dict[str, dict[str, list[float]]] = {v: {e: [] for e in ENDPOINTS} for v in VARIANTS}
    cpu: dict[str, dict[str, list[float]]] = {v: {e: [] for e in ENDPOINTS} for v in VARIANTS}
    errors: dict[str, dict[str, dict[str, int]]] = {v: {} for v in VARIANTS}
    bodies: dict[str, dict[str, Any]] = {v: {} for v in VARIANTS}
    try:
        for variant in VARIANTS:  # warm every path (clients, connections, caches)
            for endpoint in ENDPOINTS:
                (writers if endpoint in WRITES else probes)[variant].run(endpoint, 30)
        block = max(1, invocations // rounds)
        for _ in range(rounds):
            for endpoint in ENDPOINTS:
                for variant in VARIANTS:
                    probe = (writers if endpoint in WRITES else probes)[variant]
                    if endpoint in WRITES:
                        reply = _written(probe, endpoint, block, clear_writes)
                    else:
                        reply = probe.run(endpoint, block)
                    samples[variant][endpoint] += reply["ms"]
                    cpu[variant][endpoint] += reply["cpu_ms"]
                    bodies[variant][endpoint] = reply["body"]
                    bad = {s: n for s, n in reply["statuses"].items() if not s.startswith("2")}
                    if bad:
                        errors[variant][endpoint] = bad
    finally:
        for probe in [*probes.values(), *writers.values()]:
            probe.close()
    return {
        "latency": {
            v: {e: summary(ms) for e, ms in by_endpoint.items()}
            for v, by_endpoint in samples.items()
        },
        "cpu": {
            v: {e: summary(ms) for e, ms in by_endpoint.items()} for v, by_endpoint in cpu.items()
        },
        "errors": errors,
        "same_responses": same_responses(bodies["ours"], bodies["baseline"]),
    }


def _written(
    probe: WarmProbe, endpoint: str, count: int, clear_writes: Callable[[], None]
) -> dict[str, Any]:
    """Writes in sub-blocks on an emptied table, so each costs the emulator the same."""
    merged: dict[str, Any] = {"ms": [], "cpu_ms": [], "statuses": {}, "body": None}
    for start in range(0, count, WRITE_BLOCK):
        clear_writes()
        reply = probe.run(endpoint, min(WRITE_BLOCK, count - start))
        merged["ms"] += reply["ms"]
        merged["cpu_ms"] += reply["cpu_ms"]
        merged["body"] = reply["body"]
        for status, n in reply["statuses"].items():
            merged["statuses"][status] = merged["statuses"].get(status, 0) + n
    return merged


def same_responses(ours: dict[str, Any], baseline: dict[str, Any]) -> dict[str, bool]:
    """Whether both answered each read with the same JSON (POST: the same fields; ids differ)."""
    verdict = {}
    for endpoint in ENDPOINTS:
        a, b = json.loads(ours[endpoint] or "null"), json.loads(baseline[endpoint] or "null")
        verdict[endpoint] = sorted(a) == sorted(b) if endpoint == "post_order" else a == b
    return verdict
