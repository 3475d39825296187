"""What sealing personal fields costs the users function, cold and warm.

Each run is a fresh process (a new container) against the bench stack, as the reader, whose
profile the stack saved sealed (name and phone) by another process:
- ``import``: cryptography's AES-GCM, a share of the function's init;
- ``first GET``: the container's first GET /users/me (init done): clients, and one KMS Decrypt
  of the profile's data key;
- ``first PUT``: its first PUT /users/me: one KMS GenerateDataKey (the other clients are warm);
- ``warm GET`` and ``warm PUT``: the requests after them, with no KMS call (wall and CPU ms);
- ``GenerateDataKey`` and ``Decrypt``: one KMS round trip each, timed alone;
- ``seal field`` and ``open field``: AES-GCM on one field with the cached data key (µs).

Run alone: ``just bench --only sealing [--quick]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.runner import ROOT, probe_environment
from bench.stats import summary

PROBE = "BENCH-SEALING"
# Per request: wall-clock ms (what a caller waits) and the probe's CPU ms (robust to other load).
WARM = ("warm GET", "warm PUT", "warm GET CPU", "warm PUT CPU")
PROFILE = {
    "name": "Bench Reader",
    "phone": "+4915112345678",
    "address": {"line1": "Main St 1", "city": "Berlin", "postalCode": "10115", "country": "DE"},
}


def measure_sealing(spec: dict[str, Any], runs: int, invocations: int) -> dict[str, Any]:
    """``runs`` fresh processes, each with ``invocations`` warm GETs and PUTs; medians of runs."""
    env = probe_environment(spec, "ours", function_name="users")
    samples: dict[str, list[float]] = {}
    warm: dict[str, list[float]] = {name: [] for name in WARM}
    command = [sys.executable, "-m", "bench.sealing", str(invocations)]
    for _ in range(runs + 1):  # the first run only fills caches (bytecode, page cache)
        done = subprocess.run(  # noqa: S603 - our interpreter, our module
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        lines = [line for line in done.stderr.splitlines() if line.startswith(PROBE)]
        if done.returncode or not lines:
            raise RuntimeError(f"the sealing probe failed:\n{done.stderr[-3000:]}")
        found = json.loads(lines[-1].removeprefix(PROBE))
        if not samples:  # the discarded run
            samples = {name: [] for name in found["once"]}
            continue
        for name, value in found["once"].items():
            samples[name].append(value)
        for name in warm:
            warm[name] += found[name]
    return {
        "runs": runs,
        "invocations": invocations,
        "once": {name: round(statistics.median(values), 3) for name, values in samples.items()},
        "warm": {name: summary(values) for name, values in warm.items()},
    }


def _probe(invocations: int) -> None:
    """In a fresh process: time the users function's sealing, cold and warm; one JSON line."""
    # The function logs to stdout; the result goes to stderr, after a marker.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    from bench.events import BenchContext, fresh, http_event

    started = time.perf_counter()
    import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401 - timed here

    once = {"import cryptography AES-GCM": _ms(started)}
    from services.users import handler

    spec = json.loads(os.environ["BENCH_SPEC"])
    claims = spec["reader_claims"]
    context = BenchContext("users")
    get = http_event("GET /users/me", "/users/me", claims)

    timings: dict[str, list[float]] = {name: [] for name in WARM}

    def call(name: str, event: dict[str, Any]) -> dict[str, Any]:
        began, began_cpu = time.perf_counter(), time.process_time()
        response = handler.handler(fresh(event), context)  # type: ignore[arg-type]  # a stand-in
        timings[f"{name} CPU"].append((time.process_time() - began_cpu) * 1000)
        timings[name].append(_ms(began))
        if response["statusCode"] != 200:
            raise RuntimeError(f"{event['routeKey']}: {response}")
        body: dict[str, Any] = json.loads(response["body"])
        return body

    def put(name: str, version: int) -> dict[str, Any]:
        body = {"version": version, **PROFILE}
        return call(name, http_event("PUT /users/me", "/users/me", claims, body=body))

    profile = call("warm GET", get)
    profile = put("warm PUT", profile["version"])
    # The first of each is the container's first: reported alone, not among the warm ones.
    once["first GET"], once["first PUT"] = timings["warm GET"].pop(), timings["warm PUT"].pop()
    once["first GET CPU"] = round(timings["warm GET CPU"].pop(), 3)
    once["first PUT CPU"] = round(timings["warm PUT CPU"].pop(), 3)
    for _ in range(invocations):
        call("warm GET", get)
        profile = put("warm PUT", profile["version"])
    once.update(handler.api.run(_sealer_timings(handler)))
    sys.stderr.write(PROBE + json.dumps({"once": once, **timings}) + "\n")


async def _sealer_timings(handler: Any) -> dict[str, float]:
    """KMS round trips alone (a new sealer each: nothing cached), then AES-GCM per field."""
    from libs.sealed_fields import FieldSealer

    kms = await handler.api.clients.kms()
    key_arn = handler.sealer.key_id
    value = json.dumps(PROFILE["address"]).encode()
    began = time.perf_counter()
    sealed = await FieldSealer(key_arn).seal(kms, value, owner="bench", field="address")
    generate = _ms(began)
    began = time.perf_counter()
    await FieldSealer(key_arn).open(kms, sealed, owner="bench", field="address")
    decrypt = _ms(began)
    sealer = FieldSealer(key_arn)
    await sealer.seal(kms, value, owner="bench", field="address")  # caches the data key
    rounds = 2000
    began = time.perf_counter()
    for _ in range(rounds):
        sealed = await sealer.seal(kms, value, owner="bench", field="address")
    seal_us = _ms(began) * 1000 / rounds
    began = time.perf_counter()
    for _ in range(rounds):
        await sealer.open(kms, sealed, owner="bench", field="address")
    open_us = _ms(began) * 1000 / rounds
    return {
        "KMS GenerateDataKey (+ seal)": generate,
        "KMS Decrypt (+ open)": decrypt,
        "seal field (µs)": round(seal_us, 2),
        "open field (µs)": round(open_us, 2),
    }


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


if __name__ == "__main__":
    from bench.probe import use_bundle_site

    use_bundle_site()
    _probe(int(sys.argv[1]))
