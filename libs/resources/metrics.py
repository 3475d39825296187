"""The custom metrics the functions emit (Powertools EMF), declared once.

Handlers emit these by name and the monitoring stack graphs and alarms on the same names, so a
rename cannot silently empty a dashboard widget or leave an alarm watching nothing.
"""

from __future__ import annotations

import msgspec


class MetricDeclaration(msgspec.Struct, frozen=True):
    """A metric a service emits into its own namespace (``ServerlessBlueprint/<Service>``)."""

    service: str
    name: str
    title: str  # what the dashboard calls it


def metrics_namespace(service: str) -> str:
    """The CloudWatch namespace of a service's metrics."""
    return f"ServerlessBlueprint/{service.title()}"


# Orders
ORDERS_PLACED = MetricDeclaration("orders", "OrdersPlaced", "Orders placed")
# A placement answered with a 5xx (a client's own mistake, a 4xx, is not a failure of the shop).
ORDER_PLACEMENTS_FAILED = MetricDeclaration(
    "orders", "OrderPlacementsFailed", "Order placements failed"
)
# Each placed order's total in minor units, with a ``currency`` dimension: sums per currency
# are revenue (amounts in different currencies never add up).
ORDER_VALUE = MetricDeclaration("orders", "OrderValue", "Revenue (minor units)")
CURRENCY_DIMENSION = "currency"

# Auth
REGISTRATIONS = MetricDeclaration("auth", "Registrations", "Registrations")
REGISTRATIONS_FAILED = MetricDeclaration("auth", "RegistrationsFailed", "Registrations failed")
LOGINS_SUCCEEDED = MetricDeclaration("auth", "LoginsSucceeded", "Logins")
LOGINS_FAILED = MetricDeclaration("auth", "LoginsFailed", "Logins refused")
EVENTS_NOT_PUBLISHED = MetricDeclaration(
    "auth", "EventsNotPublished", "Registrations whose event was not recorded"
)

# Users
PROFILES_UPDATED = MetricDeclaration("users", "ProfilesUpdated", "Profiles updated")
ACCOUNTS_DELETED = MetricDeclaration("users", "AccountsDeleted", "Accounts deleted")

# Products
PRODUCTS_CREATED = MetricDeclaration("products", "ProductsCreated", "Products created")

# Queue and stream functions
DUPLICATE_EVENTS_SKIPPED = MetricDeclaration(
    "notifications-consumer", "DuplicateEventsSkipped", "Duplicate events skipped"
)
# Every queue function emits it into its own namespace; the notifications consumer is the one.
MESSAGES_FAILED = MetricDeclaration(
    "notifications-consumer", "MessagesFailed", "Messages failed in a batch"
)
EVENTS_RELAYED = MetricDeclaration("event-relay", "EventsRelayed", "Events relayed to the bus")

# Routes whose server-side failures are counted: route key → the failure metric. A request to
# one of them answered with a 5xx adds 1 (the HTTP runtime does it, whatever raised).
FAILURES_OF_ROUTE: dict[str, MetricDeclaration] = {
    "POST /orders": ORDER_PLACEMENTS_FAILED,
    "POST /auth/register": REGISTRATIONS_FAILED,
}

# Rates the business alarms watch: failed / (succeeded + failed).
ORDER_FAILURE_RATE = (ORDERS_PLACED, ORDER_PLACEMENTS_FAILED)
REGISTRATION_FAILURE_RATE = (REGISTRATIONS, REGISTRATIONS_FAILED)

# The business dashboard's row, in order.
BUSINESS_DASHBOARD = (ORDERS_PLACED, ORDER_PLACEMENTS_FAILED, REGISTRATIONS, LOGINS_SUCCEEDED)
