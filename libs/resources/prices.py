"""AWS list prices the cost of a request is computed at: us-east-1, on demand, no free tier.

Declared once, with the date they were compiled and the page each number comes from; the load
report prints the date beside every dollar figure. Volume tiers: the first tier of each (the
one a service of a few million requests a month stays in). Re-check the pages before relying
on a figure: AWS changes prices (DynamoDB's on-demand rates halved on 2024-11-01).
"""

from __future__ import annotations

from typing import Final

import msgspec


class Price(msgspec.Struct, frozen=True, kw_only=True):
    """One list price: dollars per ``unit``, and where it was read."""

    usd: float
    unit: str
    source: str


class PriceTable(msgspec.Struct, frozen=True, kw_only=True):
    """Every price the cost model uses."""

    as_of: str  # the date the figures were compiled (ISO 8601)
    region: str
    lambda_requests: Price
    lambda_gb_second_arm64: Price
    http_api_requests: Price
    dynamodb_write_units: Price
    dynamodb_read_units: Price
    dynamodb_storage: Price  # monthly, not per request: for comparing a month's bill
    eventbridge_events: Price
    sqs_requests: Price
    logs_ingestion: Price
    ses_emails: Price
    # Text messages (SNS) are priced per destination country and carrier: counted, not priced.


_LAMBDA = "https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s a month)"
_DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class)"

PRICES: Final = PriceTable(
    as_of="2026-12-03",
    region="us-east-1",
    lambda_requests=Price(usd=0.20, unit="1M requests", source=_LAMBDA),
    lambda_gb_second_arm64=Price(usd=0.0000133334, unit="GB-second", source=_LAMBDA),
    http_api_requests=Price(
        usd=1.00,
        unit="1M requests",
        source="https://aws.amazon.com/api-gateway/pricing/ (HTTP API, first 300M a month; "
        "each 512 KB of a request or response is one request)",
    ),
    dynamodb_write_units=Price(usd=0.625, unit="1M write request units", source=_DYNAMODB),
    dynamodb_read_units=Price(usd=0.125, unit="1M read request units", source=_DYNAMODB),
    dynamodb_storage=Price(usd=0.25, unit="GB-month", source=_DYNAMODB + ", first 25 GB free"),
    eventbridge_events=Price(
        usd=1.00,
        unit="1M events",
        source="https://aws.amazon.com/eventbridge/pricing/ (custom events published; each "
        "64 KB chunk is one event; delivery to targets is not charged)",
    ),
    sqs_requests=Price(
        usd=0.40,
        unit="1M requests",
        source="https://aws.amazon.com/sqs/pricing/ (standard queues, after the first 1M a "
        "month; each 64 KB chunk is one request)",
    ),
    logs_ingestion=Price(
        usd=0.50,
        unit="GB",
        source="https://aws.amazon.com/cloudwatch/pricing/ (Logs, Standard class, data "
        "ingested; Lambda's logs are vended logs at this rate for the first 10 TB)",
    ),
    ses_emails=Price(
        usd=0.10,
        unit="1,000 emails",
        source="https://aws.amazon.com/ses/pricing/ (outbound email)",
    ),
)

GB: Final = 1024**3  # bytes in a GB as AWS bills data
