"""Drives the probes: cold starts as fresh processes, warm latency from long-lived ones."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from bench.probe import ENDPOINTS, READY
from bench.stats import summary

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("ours", "baseline", "floor")
WRITES = frozenset({"post_order"})
WRITE_BLOCK = 100
# Host settings that would make the probes unlike Lambda (as the function pool drops them).
_HOST_ONLY = ("POWERTOOLS_DEV", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "PYTHONDONTWRITEBYTECODE")


def probe_environment(spec: dict[str, Any], role: str = "reads") -> dict[str, str]:
    """The function environment plus the spec: what a probe process runs with."""
    env = {k: v for k, v in os.environ.items() if k not in _HOST_ONLY}
    env.update(spec["environment"] if role == "reads" else spec["write_environment"])
    env["PYTHONPATH"] = str(ROOT)
    env["BENCH_SPEC"] = json.dumps(spec)
    return env


def cold_starts(spec: dict[str, Any], runs: int) -> dict[str, Any]:
    """Milliseconds from spawning an interpreter to its first response, interleaved A B A B."""
    env = probe_environment(spec)
    commands: dict[str, list[str]] = {
        "floor (import botocore)": [sys.executable, "-c", "import botocore.session"]
    }
    for service in ("orders", "users"):
        for variant in ("ours", "baseline"):
            command = [sys.executable, "-m", "bench.probe", "cold", variant, service]
            commands[f"{variant} {service}"] = command
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):  # the first round only fills caches (bytecode, page cache)
        for name, command in commands.items():
            elapsed = _time_process(command, env, wait_for_ready="floor" not in name)
            if round_:
                samples[name].append(elapsed)
    return {
        name: {**summary(ms), "median": round(statistics.median(ms), 1)}
        for name, ms in samples.items()
    }


def _time_process(command: list[str], env: dict[str, str], *, wait_for_ready: bool) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    elapsed = None
    if wait_for_ready:
        for line in process.stderr:
            if line.startswith(READY):
                elapsed = (time.perf_counter() - started) * 1000
                if not line.split()[1].startswith("2"):
                    raise RuntimeError(f"{command} answered {line.strip()}")
                break
    process.stderr.read()
    code = process.wait()
    if elapsed is None:
        if code != 0 or wait_for_ready:
            raise RuntimeError(f"{command} failed with exit status {code}")
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed


class WarmProbe:
    """One implementation's handlers in a process of their own, kept warm between commands."""

    def __init__(self, variant: str, spec: dict[str, Any], role: str) -> None:
        self.variant = variant
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.probe", "warm", variant],
            env=probe_environment(spec, role),
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
    """p50/p95/p99 per endpoint and variant; variants take turns in blocks, reads before writes."""
    probes = {variant: WarmProbe(variant, spec, "reads") for variant in VARIANTS}
    writers = {variant: WarmProbe(variant, spec, "writes") for variant in VARIANTS}
    samples: dict[str, dict[str, list[float]]] = {v: {e: [] for e in ENDPOINTS} for v in VARIANTS}
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
        "errors": errors,
        "same_responses": same_responses(bodies["ours"], bodies["baseline"]),
    }


def _written(
    probe: WarmProbe, endpoint: str, count: int, clear_writes: Callable[[], None]
) -> dict[str, Any]:
    """Writes in sub-blocks on an emptied table, so each costs the emulator the same."""
    merged: dict[str, Any] = {"ms": [], "statuses": {}, "body": None}
    for start in range(0, count, WRITE_BLOCK):
        clear_writes()
        reply = probe.run(endpoint, min(WRITE_BLOCK, count - start))
        merged["ms"] += reply["ms"]
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
