"""Service-level objectives and the alarm thresholds, declared once.

The monitoring stack alarms on these numbers and the load tests assert the same latencies, so a
release that passes its load test does not page anyone for latency, and the reverse.
"""

from __future__ import annotations

import msgspec


class LatencyObjective(msgspec.Struct, frozen=True):
    """Latency that a route's responses stay under, as seen by clients at API Gateway."""

    p95_ms: int
    p99_ms: int


class ServiceLevelObjectives(msgspec.Struct, frozen=True, kw_only=True):
    """Latency per route (a default and the exceptions) and the error budgets."""

    default_latency: LatencyObjective
    # Routes with their own objective (and their own latency alarms); route key → objective.
    route_latency: dict[str, LatencyObjective]
    api_5xx_percent: float
    api_5xx_minutes: int
    # Share of API requests not answered with a 5xx, over a window: below it someone is paged.
    api_availability_percent: float
    api_availability_minutes: int
    function_error_percent: float
    function_error_minutes: int

    def latency_of(self, route_key: str) -> LatencyObjective:
        """The objective of a route, e.g. ``GET /products``."""
        return self.route_latency.get(route_key, self.default_latency)


class AlarmThresholds(msgspec.Struct, frozen=True, kw_only=True):
    """Operational alarms that are not objectives of a route."""

    duration_percent_of_timeout: int  # a function running this close to its timeout
    queue_depth: int  # visible messages in a consumer queue
    dlq_messages: int  # messages in a dead-letter queue above which someone must look
    dynamodb_throttles: int  # throttled requests in a minute
    # Age of the oldest stream record a stream consumer has not processed: for the outbox relay,
    # how late events reach the bus.
    stream_iterator_age_seconds: int
    # A function's peak memory (its REPORT line's "Max Memory Used") against its configured size.
    memory_percent_of_size: int
    # Invocations that started a new container, per function, over a window.
    cold_start_percent: float
    cold_start_minutes: int


class BusinessAlarmThresholds(msgspec.Struct, frozen=True, kw_only=True):
    """Alarms on what the shop does, from the services' own metrics (libs/resources/metrics.py)."""

    # Placements answered with a 5xx, against all placements, over a window.
    order_failure_percent: float
    # Registrations answered with a 5xx, against all registrations, over a window.
    registration_failure_percent: float
    failure_rate_minutes: int
    # Revenue per currency, summed per period, against what CloudWatch's anomaly model expects
    # for that period (it learns hourly, daily and weekly seasonality, so "expected" is what the
    # same hour of past weeks makes likely). CloudWatch alarms cannot shift a metric by a week,
    # so a drop is "below the model's band", the band this many standard deviations wide.
    revenue_period_minutes: int
    revenue_band_standard_deviations: float
    revenue_currencies: tuple[str, ...]


SLO = ServiceLevelObjectives(
    default_latency=LatencyObjective(p95_ms=500, p99_ms=1000),
    route_latency={
        "GET /products": LatencyObjective(p95_ms=300, p99_ms=800),
        "GET /products/{productId}": LatencyObjective(p95_ms=200, p99_ms=500),
        "POST /orders": LatencyObjective(p95_ms=600, p99_ms=1200),
        "GET /orders": LatencyObjective(p95_ms=400, p99_ms=900),
        # Cognito's SRP-less password check alone takes a few hundred milliseconds.
        "POST /auth/login": LatencyObjective(p95_ms=800, p99_ms=1500),
    },
    api_5xx_percent=0.5,
    api_5xx_minutes=3,
    api_availability_percent=99.9,
    api_availability_minutes=60,
    function_error_percent=1.0,
    function_error_minutes=5,
)

ALARMS = AlarmThresholds(
    duration_percent_of_timeout=80,
    queue_depth=100,
    dlq_messages=0,
    dynamodb_throttles=0,
    stream_iterator_age_seconds=60,
    memory_percent_of_size=80,
    cold_start_percent=10,
    cold_start_minutes=15,
)

BUSINESS_ALARMS = BusinessAlarmThresholds(
    order_failure_percent=0.1,
    registration_failure_percent=5,
    failure_rate_minutes=15,
    revenue_period_minutes=60,
    revenue_band_standard_deviations=2,
    revenue_currencies=("EUR",),
)
