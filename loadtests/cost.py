"""The cost of a request, from what a load step measured (pure): per route and for the mix.

Each route's request pays for: its HTTP API request; its function's invocation and GB-seconds
(measured durations, billed per millisecond at the declared memory); the DynamoDB read and write
units its calls consumed (``ReturnConsumedCapacity``); the log bytes its function wrote, Lambda's
own START/END/REPORT lines and the API's access log line; and, for each event it wrote to the
outbox, the measured cost of publishing one such event (the relay's invocation and PutEvents
entry, each queue's delivery, poll and delete, the consumer's invocation, its reads and writes,
logs and the email it sends). Prices: ``libs.resources.prices``. The mix weighs each route by
the requests of it that reached its function in the step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Final

from emulator.usage_ledger import UsageTotals, event_key
from libs.resources.prices import GB, PRICES, PriceTable

# Lambda's platform lines per invocation (text log format), at their usual lengths.
_REQUEST_ID: Final = "8f5072fc-1d2e-4697-b07a-ac58fc914c95"
PLATFORM_LOG_LINES: Final = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST\n",
    f"END RequestId: {_REQUEST_ID}\n",
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
    "Memory Size: 1024 MB\tMax Memory Used: 96 MB\t\n",
)
PLATFORM_LOG_BYTES: Final = sum(len(line.encode()) for line in PLATFORM_LOG_LINES)
# One access log line of the HTTP API stage: the fields of stacks/api.py's ACCESS_LOG_FORMAT
# with typical values (a test keeps the two field lists the same).
ACCESS_LOG_SAMPLE: Final = {
    "requestId": "Dh7xYjQ5IAMEVQw=",
    "ip": "203.0.113.17",
    "requestTime": "03/Dec/2026:06:17:27 +0000",
    "routeKey": "",  # the route's own key
    "status": "200",
    "protocol": "HTTP/1.1",
    "responseLength": "412",
    "responseLatency": "14",
    "integrationLatency": "12",
    "integrationError": "-",
    "authorizerError": "-",
    "userId": "9a4b6c1e-70e1-4a5f-8d1c-2f1e0c3d4b5a",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
}
# What each part of the bill is called in the report, in the order it is printed.
PARTS: Final = ("API Gateway", "Lambda", "DynamoDB", "CloudWatch Logs", "EventBridge", "SQS", "SES")


def access_log_bytes(route: str) -> int:
    """Bytes of the access log line the HTTP API writes for one request of ``route``."""
    line = json.dumps({**ACCESS_LOG_SAMPLE, "routeKey": route}, separators=(",", ":"))
    return len(line.encode()) + 1


@dataclass(frozen=True, slots=True)
class RequestUsage:
    """What one request uses, its downstream events' share included."""

    invocations: float = 0.0
    billed_ms: float = 0.0
    cpu_ms: float = 0.0  # of which the functions' CPU (the rest: waiting for AWS, or a core)
    gb_seconds: float = 0.0
    function_log_bytes: float = 0.0  # written by the handlers (a part of log_bytes)
    log_bytes: float = 0.0  # every byte ingested: handlers, platform lines, access log
    read_units: float = 0.0
    write_units: float = 0.0
    events_put: float = 0.0
    sqs_requests: float = 0.0
    emails: float = 0.0
    text_messages: float = 0.0

    def plus(self, other: RequestUsage, times: float = 1.0) -> RequestUsage:
        """This usage and ``times`` the ``other``."""
        return RequestUsage(
            **{
                name: getattr(self, name) + times * getattr(other, name)
                for name in (item.name for item in fields(self))
            }
        )


def per_invocation(totals: UsageTotals, per: float) -> RequestUsage:
    """``totals`` divided by ``per`` (requests, or events), platform log lines added."""
    if per <= 0:
        return RequestUsage()
    function_logs = totals.log_bytes / per
    return RequestUsage(
        invocations=totals.invocations / per,
        billed_ms=totals.billed_ms / per,
        cpu_ms=totals.cpu_ms / per,
        gb_seconds=totals.gb_seconds / per,
        function_log_bytes=function_logs,
        log_bytes=function_logs + totals.invocations / per * PLATFORM_LOG_BYTES,
        read_units=totals.read_units / per,
        write_units=totals.write_units / per,
        events_put=totals.events_put / per,
        sqs_requests=totals.sqs_requests / per,
        emails=totals.emails / per,
        text_messages=totals.text_messages / per,
    )


def dollars_per_million(
    usage: RequestUsage, *, http_requests: float = 1.0, prices: PriceTable = PRICES
) -> dict[str, float]:
    """$ per million requests using ``usage`` each, by part of the bill."""
    million = 1_000_000
    return {
        "API Gateway": http_requests * prices.http_api_requests.usd,
        "Lambda": usage.invocations * prices.lambda_requests.usd
        + million * usage.gb_seconds * prices.lambda_gb_second_arm64.usd,
        "DynamoDB": usage.read_units * prices.dynamodb_read_units.usd
        + usage.write_units * prices.dynamodb_write_units.usd,
        "CloudWatch Logs": million * usage.log_bytes / GB * prices.logs_ingestion.usd,
        "EventBridge": usage.events_put * prices.eventbridge_events.usd,
        "SQS": usage.sqs_requests * prices.sqs_requests.usd,
        "SES": million * usage.emails / 1000 * prices.ses_emails.usd,
    }


@dataclass(frozen=True, slots=True)
class RouteCost:
    """One route's request: what it used and what a million of them cost."""

    route: str
    requests: int
    usage: RequestUsage
    events: Mapping[str, float]  # outbox events written per request, by detail type
    usd_per_million: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """$ per million requests of this route."""
        return sum(self.usd_per_million.values())


def route_costs(usage: Mapping[str, UsageTotals], prices: PriceTable = PRICES) -> list[RouteCost]:
    """The cost of each route that ``usage`` saw invoked, with its events' share; each route's
    requests are those that reached its function (not those the gateway refused)."""
    per_event = {
        key: per_invocation(totals, totals.events_relayed)
        for key, totals in usage.items()
        if totals.events_relayed > 0
    }
    costs = []
    for route, totals in sorted(usage.items()):
        if route.startswith("event ") or totals.invocations <= 0:
            continue
        own = per_invocation(totals, totals.invocations)
        own = own.plus(RequestUsage(log_bytes=access_log_bytes(route)))
        events = {
            detail_type: count / totals.invocations
            for detail_type, count in totals.outbox_events.items()
        }
        whole = own
        for detail_type, count in events.items():
            whole = whole.plus(per_event.get(event_key(detail_type), RequestUsage()), count)
        costs.append(
            RouteCost(
                route=route,
                requests=round(totals.invocations),
                usage=whole,
                events=events,
                usd_per_million=dollars_per_million(whole, prices=prices),
            )
        )
    return costs


def mix_cost(costs: list[RouteCost]) -> dict[str, float]:
    """$ per million requests of the mix the routes were requested in, by part of the bill."""
    weight = sum(cost.requests for cost in costs)
    if weight == 0:
        return {}
    return {
        part: sum(cost.requests * cost.usd_per_million[part] for cost in costs) / weight
        for part in PARTS
    }


def cost_document(usage: Mapping[str, UsageTotals], prices: PriceTable = PRICES) -> dict[str, Any]:
    """A step's cost per route and for its mix, as JSON-ready data."""
    costs = route_costs(usage, prices)
    mix = mix_cost(costs)
    events = {
        key.removeprefix("event "): {
            "relayed": round(totals.events_relayed),
            "usdPerMillion": round(
                sum(
                    dollars_per_million(
                        per_invocation(totals, totals.events_relayed), http_requests=0
                    ).values()
                ),
                2,
            ),
        }
        for key, totals in sorted(usage.items())
        if key.startswith("event ") and totals.events_relayed > 0
    }
    return {
        "pricesAsOf": prices.as_of,
        "region": prices.region,
        "mixUsdPerMillion": round(sum(mix.values()), 2),
        "mixByPart": {part: round(usd, 3) for part, usd in mix.items()},
        # The plan's estimate has no email: this is the figure to set beside it.
        "mixWithoutEmailUsdPerMillion": round(sum(mix.values()) - mix.get("SES", 0.0), 2),
        "dominatedBy": max(mix, key=lambda part: mix[part]) if mix else None,
        "events": events,
        "routes": [_route_document(cost) for cost in costs],
    }


def _route_document(cost: RouteCost) -> dict[str, Any]:
    usage = cost.usage
    return {
        "route": cost.route,
        "requests": cost.requests,
        "readUnits": round(usage.read_units, 3),
        "writeUnits": round(usage.write_units, 3),
        "lambdaInvocations": round(usage.invocations, 3),
        "lambdaBilledMs": round(usage.billed_ms, 2),
        "lambdaCpuMs": round(usage.cpu_ms, 2),
        "lambdaGbSeconds": round(usage.gb_seconds, 5),
        "functionLogBytes": round(usage.function_log_bytes),
        "logBytes": round(usage.log_bytes),
        "eventBridgeEvents": round(usage.events_put, 3),
        "sqsRequests": round(usage.sqs_requests, 3),
        "emails": round(usage.emails, 3),
        "textMessages": round(usage.text_messages, 3),
        "outboxEvents": {name: round(count, 3) for name, count in cost.events.items()},
        "usdPerMillion": round(cost.total, 2),
        "byPart": {part: round(usd, 3) for part, usd in cost.usd_per_million.items()},
    }


def route_table(routes: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown rows of each route's usage and $ per million (``cost_document``'s routes)."""
    lines = [
        "| route | requests | read units | write units | Lambda ms (CPU) | GB-s | log bytes "
        "| events | SQS requests | emails | $ per 1M | largest part |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for route in routes:
        by_part = route["byPart"]
        largest = max(by_part, key=lambda part: by_part[part])
        lines.append(
            f"| {route['route']} | {route['requests']} | {route['readUnits']:.2f} "
            f"| {route['writeUnits']:.2f} "
            f"| {route['lambdaBilledMs']:.1f} ({route['lambdaCpuMs']:.1f}) "
            f"| {route['lambdaGbSeconds']:.4f} | {route['logBytes']} "
            f"| {route['eventBridgeEvents']:.2f} | {route['sqsRequests']:.2f} "
            f"| {route['emails']:.2f} | {route['usdPerMillion']:.2f} "
            f"| {largest} ({by_part[largest] / route['usdPerMillion']:.0%}) |"
        )
    return lines


def cost_markdown(steps: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """The cost section of the summary: per route and for the mix, for each named step."""
    lines: list[str] = []
    for name, document in steps:
        if not document["routes"]:
            continue
        mix = document["mixUsdPerMillion"]
        parts = document["mixByPart"]
        shares = ", ".join(
            f"{part} {parts[part] / mix:.0%}" for part in sorted(parts, key=lambda p: -parts[p])
        )
        lines += [
            "",
            f"Cost per request at {name}: us-east-1 list prices of {document['pricesAsOf']} "
            "(`libs/resources/prices.py`; method in `docs/cost.md`). Per request: DynamoDB "
            "units from ReturnConsumedCapacity, Lambda at the declared memory from measured "
            "durations, log bytes ingested (handlers, Lambda's platform lines, the access log), "
            "events and SQS requests, each including its outbox events' share.",
            "",
            f"- Shop mix: **${mix:.2f} per million requests** ({shares}); "
            f"1M requests a month of this mix: ${mix:.2f}/month, "
            f"${document['mixWithoutEmailUsdPerMillion']:.2f} without SES's emails",
            "",
            *route_table(document["routes"]),
        ]
        if document["events"]:
            published = "; ".join(
                f"{name} ${event['usdPerMillion']:.2f} per million ({event['relayed']} relayed)"
                for name, event in document["events"].items()
            )
            lines += ["", f"Publishing an event, from the outbox to its consumer: {published}."]
    return "\n".join(lines) + ("\n" if lines else "")
