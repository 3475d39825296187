"""The cost of a request from metered usage: per route, with its events' share, and the mix."""

from __future__ import annotations

import json

import msgspec
import pytest

from emulator.usage_ledger import (
    InvocationUsage,
    UsageLedger,
    UsageTotals,
    events_in_flight,
    usage_keys,
)
from libs.aws_usage import AwsUsage
from libs.resources.prices import PRICES, Price
from loadtests.cost import (
    ACCESS_LOG_SAMPLE,
    PLATFORM_LOG_BYTES,
    access_log_bytes,
    cost_document,
    cost_markdown,
    route_costs,
)

# Round prices, so each expected dollar figure can be read off the test.
ONE_DOLLAR = Price(usd=1.0, unit="1M", source="test")
PRICES_FOR_TEST = msgspec.structs.replace(
    PRICES,
    as_of="2000-01-01",
    region="test",
    lambda_requests=ONE_DOLLAR,
    lambda_gb_second_arm64=Price(usd=0.00001, unit="GB-second", source="test"),
    http_api_requests=ONE_DOLLAR,
    dynamodb_write_units=ONE_DOLLAR,
    dynamodb_read_units=ONE_DOLLAR,
    eventbridge_events=ONE_DOLLAR,
    sqs_requests=ONE_DOLLAR,
    logs_ingestion=Price(usd=0.0, unit="GB", source="test"),
    ses_emails=Price(usd=0.1, unit="1,000 emails", source="test"),
)


def invocation(ms: float, *, read_units: float = 0.0, emails: int = 0) -> InvocationUsage:
    aws = AwsUsage(read_units=read_units, emails=emails)
    return InvocationUsage(duration_ms=ms, log_bytes=500, aws=aws)


def stream_event(*detail_types: str) -> dict[str, object]:
    return {
        "Records": [
            {"eventSource": "aws:dynamodb", "dynamodb": {"NewImage": {"detailType": {"S": t}}}}
            for t in detail_types
        ]
    }


def queue_event(*detail_types: str) -> dict[str, object]:
    return {
        "Records": [
            {"eventSource": "aws:sqs", "body": json.dumps({"detail-type": t})} for t in detail_types
        ]
    }


def test_usage_goes_to_the_route_or_to_each_record_s_event_type() -> None:
    assert usage_keys({"routeKey": "GET /orders"}) == ["GET /orders"]
    assert usage_keys(stream_event("OrderCreated", "UserDeleted")) == [
        "event OrderCreated",
        "event UserDeleted",
    ]
    assert usage_keys(queue_event("OrderCreated")) == ["event OrderCreated"]
    assert usage_keys({"source": "aws.events"}) == []


def test_the_ledger_bills_each_invocation_by_the_millisecond_at_the_declared_memory() -> None:
    # Given a 1024 MB function invoked twice, 10.2 ms then 4 ms
    ledger = UsageLedger()
    ledger.record({"routeKey": "GET /products"}, invocation(10.2, read_units=0.5), 1024)
    before = ledger.snapshot()
    ledger.record({"routeKey": "GET /products"}, invocation(4.0, read_units=0.5), 1024)
    # When the usage since the first is read
    since = ledger.since(before)["GET /products"]
    # Then it is the second invocation alone: 4 ms billed, 0.004 GB-s
    assert since.invocations == 1
    assert since.billed_ms == 4
    assert since.gb_seconds == pytest.approx(0.004)
    assert since.read_units == 0.5
    # And the first was billed 11 ms
    assert ledger.snapshot()["GET /products"].billed_ms == 15


def test_a_queue_batch_is_shared_out_with_its_sqs_requests() -> None:
    # Given a consumer batch of two OrderCreated messages, with one email each sent
    ledger = UsageLedger()
    ledger.record(queue_event("OrderCreated", "OrderCreated"), invocation(20, emails=2), 1024)
    # When the event type's totals are read
    totals = ledger.snapshot()["event OrderCreated"]
    # Then both shares add up to the whole invocation, and SQS requests are the two deliveries,
    # one receive and one batch delete
    assert totals.invocations == pytest.approx(1.0)
    assert totals.emails == pytest.approx(2.0)
    assert totals.sqs_requests == pytest.approx(4.0)


def test_a_route_carries_the_cost_of_publishing_the_events_it_writes() -> None:
    # Given an orders route writing one OrderCreated per request, and what one event cost
    usage = {
        "POST /orders": UsageTotals(
            invocations=10,
            billed_ms=100,
            gb_seconds=0.1,
            read_units=10,
            write_units=50,
            outbox_events={"OrderCreated": 10},
        ),
        "event OrderCreated": UsageTotals(
            invocations=4, events_put=4, sqs_requests=12, emails=4, events_relayed=4
        ),
    }
    # When its cost is computed
    (cost,) = route_costs(usage, PRICES_FOR_TEST)
    # Then per request: 1 + 1 invocations, 1 read and 5 write units, 1 event, 3 SQS requests,
    # 1 email
    assert cost.usage.invocations == pytest.approx(2.0)
    assert cost.usage.events_put == pytest.approx(1.0)
    assert cost.usage.sqs_requests == pytest.approx(3.0)
    assert cost.usage.emails == pytest.approx(1.0)
    assert cost.usd_per_million == pytest.approx(
        {
            "API Gateway": 1.0,
            "Lambda": 2.0 + 1_000_000 * 0.01 * 0.00001,
            "DynamoDB": 6.0,
            "CloudWatch Logs": 0.0,
            "EventBridge": 1.0,
            "SQS": 3.0,
            "SES": 100.0,
        }
    )


def test_logs_ingested_include_the_platform_lines_and_the_access_log() -> None:
    usage = {"GET /products": UsageTotals(invocations=2, log_bytes=1000)}
    (cost,) = route_costs(usage, PRICES_FOR_TEST)
    assert cost.usage.log_bytes == 500 + PLATFORM_LOG_BYTES + access_log_bytes("GET /products")


def test_the_mix_weighs_each_route_by_its_requests() -> None:
    # Given a route at $1 (API only) requested three times as often as one at $3
    usage = {
        "GET /a": UsageTotals(invocations=3),
        "GET /b": UsageTotals(invocations=1, read_units=2),
    }
    free = Price(usd=0.0, unit="-", source="test")
    prices = msgspec.structs.replace(
        PRICES_FOR_TEST, lambda_requests=free, lambda_gb_second_arm64=free
    )
    # When the step's cost is summarized
    document = cost_document(usage, prices)
    # Then the mix is (3 * 1 + 1 * 3) / 4, and the API dominates it
    assert document["mixUsdPerMillion"] == pytest.approx(1.5)
    assert document["dominatedBy"] == "API Gateway"
    assert document["pricesAsOf"] == "2000-01-01"
    assert "$1.50 per million requests" in cost_markdown([("1 req/s", document)])


def test_the_access_log_sample_has_the_declared_fields() -> None:
    from stacks.api import ACCESS_LOG_FORMAT

    assert set(ACCESS_LOG_SAMPLE) == set(ACCESS_LOG_FORMAT)


def test_events_are_in_flight_until_relayed_and_consumed() -> None:
    # Given two orders written, one event relayed and none consumed yet
    usage = {
        "POST /orders": UsageTotals(invocations=2, outbox_events={"OrderCreated": 2}),
        "event OrderCreated": UsageTotals(events_relayed=1),
    }
    # Then one is in flight (nothing says yet that this type has a consumer)
    assert events_in_flight(usage) == 1
    # And once both are relayed and one consumed, the other is still in flight
    usage["event OrderCreated"] = UsageTotals(events_relayed=2, events_consumed=1)
    assert events_in_flight(usage) == 1
    usage["event OrderCreated"] = UsageTotals(events_relayed=2, events_consumed=2)
    assert events_in_flight(usage) == 0
