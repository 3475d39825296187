"""What each benched request of ours would be billed for on AWS, measured apart from the timings.

A probe of ours (``bench.probe metered``) runs with ``MEASURE_AWS_USAGE=1``: its clients ask
DynamoDB for ``ReturnConsumedCapacity`` and count what they send, so it runs in a pass of its
own, after the timed ones, never inside them. Per invocation it reports its duration, CPU, the
log bytes its handler wrote and its AWS usage; they are added up per route at the function's
declared memory and priced as ``just load`` prices them (``loadtests.cost``). The bench runs no
outbox relay or consumer: publishing an order's event is priced in ``just load``'s report, and
a route's figure here is the request alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from bench.probe import ENDPOINTS, SERVICE_OF
from bench.runner import WRITE_BLOCK, WRITES, WarmProbe
from emulator.usage_ledger import InvocationUsage, UsageTotals
from libs.aws_usage import ENV_VARIABLE, AwsUsage
from libs.resources.functions import FUNCTIONS
from loadtests.cost import cost_document

WARM_UP = 20  # invocations per endpoint before counting: clients, connections, caches


def measure_request_cost(
    spec: dict[str, Any], invocations: int, clear_writes: Callable[[], None]
) -> dict[str, Any]:
    """Per route of the bench's endpoints: usage and $ per million, from ``invocations`` each."""
    metered = {ENV_VARIABLE: "1"}
    probes = {
        role: WarmProbe("ours", spec, role, command="metered", environment=metered)
        for role in ("reads", "writes")
    }
    usage: dict[str, UsageTotals] = {}
    statuses: dict[str, dict[str, int]] = {}
    try:
        for endpoint in ENDPOINTS:
            probe = probes["writes" if endpoint in WRITES else "reads"]
            memory_mb = FUNCTIONS[SERVICE_OF[endpoint]].memory_mb
            probe.run(endpoint, WARM_UP)
            for start in range(0, invocations, WRITE_BLOCK):
                if endpoint in WRITES:
                    clear_writes()  # each write costs the emulator the same, as in the timings
                reply = probe.run(endpoint, min(WRITE_BLOCK, invocations - start))
                for status, count in reply["statuses"].items():
                    seen = statuses.setdefault(endpoint, {})
                    seen[status] = seen.get(status, 0) + count
                for invocation in reply["invocations"]:
                    totals = usage.setdefault(invocation["route"], UsageTotals())
                    totals.add(as_invocation_usage(invocation), memory_mb)
    finally:
        for probe in probes.values():
            probe.close()
    document = cost_document(usage)
    document["statuses"] = statuses
    return document


def as_invocation_usage(reported: dict[str, Any]) -> InvocationUsage:
    """One invocation as the metered probe reported it."""
    return InvocationUsage(
        duration_ms=reported["duration_ms"],
        cpu_ms=reported["cpu_ms"],
        log_bytes=reported["log_bytes"],
        aws=msgspec.convert(reported["aws"], AwsUsage),
    )
