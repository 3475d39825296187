"""A child process the bench drives: one implementation's handlers, invoked and timed in-process.

``python -m bench.probe warm VARIANT`` reads its spec from stdin, then answers commands
``ENDPOINT COUNT`` with a JSON line of latencies (wall clock and this process's CPU time).
``python -m bench.probe cold VARIANT SERVICE`` imports one handler, answers one request and
reports on stderr with the CPU time spent so far: the parent times the process.
``python -m bench.probe metered VARIANT`` answers like ``warm``, with what each invocation would
be billed for instead of latencies (run with ``MEASURE_AWS_USAGE=1``: ``bench.request_cost``).
Only the standard library is imported at module level, so a cold probe measures the handler; and
the environment's site-packages is swapped for the variant's bundle-like one (``BENCH_SITE``), so
a library that imports whatever it finds (X-Ray's ``patch_all``) finds what it would in Lambda.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import IO, Any

from bench.events import BenchContext, fresh, http_event

ENDPOINTS = ("get_order", "list_orders", "get_me", "post_order")
SERVICE_OF = {
    "get_order": "orders",
    "list_orders": "orders",
    "post_order": "orders",
    "get_me": "users",
}
READY = "BENCH-READY"
HANDLERS = {
    "ours": "services.{service}.handler",
    "baseline": "bench.baseline.{service}",
}
SITE = "BENCH_SITE"


def use_bundle_site() -> None:
    """Import third-party code only from ``BENCH_SITE``, not the environment's site-packages."""
    site = os.environ.get(SITE)
    if not site:
        return
    kept = [p for p in sys.path if not p.endswith("site-packages")]
    sys.path[:] = [*kept, site]


def events(spec: dict[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
    """A maker of each endpoint's next event."""
    reader, writer, order_id = spec["reader_claims"], spec["writer_claims"], spec["order_id"]
    get_order = http_event(
        "GET /orders/{orderId}",
        f"/orders/{order_id}",
        reader,
        path_parameters={"orderId": order_id},
    )
    list_orders = http_event("GET /orders", "/orders", reader)
    get_me = http_event("GET /users/me", "/users/me", reader)
    order = {
        "items": [
            {"productId": "usb-c-hub", "quantity": 2},
            {"productId": "desk-lamp", "quantity": 1},
        ],
        "shippingAddress": {
            "name": "Bench User",
            "line1": "Main St 1",
            "city": "Berlin",
            "postalCode": "10115",
            "country": "DE",
        },
    }
    post_order = http_event("POST /orders", "/orders", writer, body=order)

    def keyed() -> dict[str, Any]:
        event = fresh(post_order)
        event["headers"] = {**event["headers"], "idempotency-key": str(uuid.uuid4())}
        return event

    return {
        "get_order": lambda: fresh(get_order),
        "list_orders": lambda: fresh(list_orders),
        "get_me": lambda: fresh(get_me),
        "post_order": keyed,
    }


def handler_of(variant: str, service: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entrypoint of ``service`` in ``variant`` (imported now)."""
    import importlib

    module = importlib.import_module(HANDLERS[variant].format(service=service))
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.handler
    return handler


def cold(variant: str, service: str) -> None:
    spec = json.loads(os.environ["BENCH_SPEC"])
    endpoint = "get_order" if service == "orders" else "get_me"
    event = events(spec)[endpoint]()
    if variant.startswith("floor"):
        # The SDK alone: its clients made, and the endpoint's calls (first connection included).
        response = _floor_invoker(variant, spec)(endpoint, event)
    else:
        response = handler_of(variant, service)(event, BenchContext(service))
    # CPU time of this process since it started (interpreter start-up included).
    cpu_ms = time.process_time() * 1000
    sys.stderr.write(f"{READY} {response['statusCode']} {cpu_ms:.1f}\n")
    sys.stderr.flush()


def warm(variant: str) -> None:
    # Handlers log to stdout: that goes nowhere, the protocol has its own descriptor.
    protocol, makers, invoke = _serving(variant, os.open(os.devnull, os.O_WRONLY))
    for line in sys.stdin:
        endpoint, count = line.split()
        latencies: list[float] = []
        cpu: list[float] = []
        statuses: dict[str, int] = {}
        body = None
        for _ in range(int(count)):
            event = makers[endpoint]()
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            try:
                response = invoke(endpoint, event)
            except Exception as error:  # counted and reported; one failure must not end the run
                response = {"statusCode": f"raised {type(error).__name__}: {error}"[:200]}
            cpu.append((time.process_time_ns() - started_cpu) / 1e6)
            latencies.append((time.perf_counter_ns() - started) / 1e6)
            status = str(response.get("statusCode", 200))
            statuses[status] = statuses.get(status, 0) + 1
            body = response.get("body")
        reply = {"ms": latencies, "cpu_ms": cpu, "statuses": statuses, "body": body}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()
    closing = getattr(invoke, "close", None)
    if closing is not None:
        closing()


def metered(variant: str) -> None:
    """Like ``warm``: each invocation's route, duration, CPU, log bytes and AWS usage."""
    import tempfile

    import msgspec

    # Handlers log to stdout: here a file, whose growth is each invocation's log bytes.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the life of the process
    protocol, makers, invoke = _serving(variant, log.fileno())
    from libs.aws_usage import take_usage

    for line in sys.stdin:
        endpoint, count = line.split()
        invocations: list[dict[str, Any]] = []
        statuses: dict[str, int] = {}
        for _ in range(int(count)):
            event = makers[endpoint]()
            take_usage()  # nothing before this invocation is its own
            sys.stdout.flush()
            logged = os.fstat(1).st_size
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            response = invoke(endpoint, event)
            cpu_ms = (time.process_time_ns() - started_cpu) / 1e6
            duration_ms = (time.perf_counter_ns() - started) / 1e6
            sys.stdout.flush()
            invocations.append(
                {
                    "route": event["routeKey"],
                    "duration_ms": duration_ms,
                    "cpu_ms": cpu_ms,
                    "log_bytes": os.fstat(1).st_size - logged,
                    "aws": msgspec.to_builtins(take_usage()),
                }
            )
            status = str(response.get("statusCode", 200))
            statuses[status] = statuses.get(status, 0) + 1
        protocol.write(json.dumps({"invocations": invocations, "statuses": statuses}) + "\n")
        protocol.flush()


def _serving(
    variant: str, log_descriptor: int
) -> tuple[IO[str], dict[str, Callable[[], dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """The protocol's own stream, with stdout sent to ``log_descriptor``; each endpoint's event
    maker and the invoker, once the spec is read; ready said."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(log_descriptor, 1)
    spec = json.loads(sys.stdin.readline())
    makers = events(spec)
    invoke = _invoker(variant, spec)
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    return protocol, makers, invoke


def _invoker(variant: str, spec: dict[str, Any]) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    if variant.startswith("floor"):
        return _floor_invoker(variant, spec)
    handlers = {service: handler_of(variant, service) for service in ("orders", "users")}
    contexts = {service: BenchContext(service) for service in handlers}

    def invoke(endpoint: str, event: dict[str, Any]) -> dict[str, Any]:
        service = SERVICE_OF[endpoint]
        return handlers[service](event, contexts[service])

    return invoke


def _floor_invoker(
    variant: str, spec: dict[str, Any]
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Raw SDK calls: aiobotocore on one kept loop (``floor``), or boto3 (``floor_boto3``)."""
    env = spec["environment"]
    ids = (
        env["TABLE_NAME"],
        env["USER_POOL_ID"],
        spec["reader_claims"]["sub"],
        spec["writer_claims"]["sub"],
        spec["order_id"],
    )
    if variant == "floor_boto3":
        from bench.floor import RawBoto3Calls

        sync = RawBoto3Calls(*ids)

        def invoke_sync(endpoint: str, _: dict[str, Any]) -> dict[str, Any]:
            sync.call(endpoint)
            return {"statusCode": 200}

        return invoke_sync

    import asyncio

    from bench.floor import RawCalls

    class LoopInvoker:
        """The raw calls on one kept loop; ``close`` closes their clients."""

        def __init__(self) -> None:
            self.raw = RawCalls(*ids)
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.raw.open())

        def __call__(self, endpoint: str, _: dict[str, Any]) -> dict[str, Any]:
            self.loop.run_until_complete(self.raw.call(endpoint))
            return {"statusCode": 200}

        def close(self) -> None:
            self.loop.run_until_complete(self.raw.close())

    return LoopInvoker()


if __name__ == "__main__":
    use_bundle_site()
    mode, variant, *rest = sys.argv[1:]
    if mode == "cold":
        cold(variant, rest[0])
    elif mode == "metered":
        metered(variant)
    else:
        warm(variant)
