"""The notifications route's contract: what it takes and answers (for the OpenAPI document)."""

from __future__ import annotations

from libs.api_contract import RouteContract, Success
from services.notifications.models import Notification, NotificationPage, NotificationQuery

_NOTIFICATION = Notification(
    notification_id="9a7c3e1f-2b4d-4f60-8e1a-7c5b3d9f2e04",
    user_id="5f1c8e2a-90d4-4b7b-8c3e-2a6d9f0b1c47",
    kind="OrderCreated",
    title="Order placed",
    message="We received your order 0b6f1a52 (2 items).",
    created_at="2026-03-14T09:26:53.589Z",
    channels=["email"],
    order_id="0b6f1a52-7f3e-4c7e-9a41-5d2b8c9e0f13",
)

CONTRACTS = (
    RouteContract(
        route="GET /notifications",
        operation_id="listNotifications",
        query=NotificationQuery,
        notes={
            "limit": "Notifications per page.",
            "cursor": "The `nextCursor` of the previous page; absent for the first page.",
        },
        success=Success(
            status=200,
            description="A page of the caller's notifications, newest first",
            body=NotificationPage,
            example=NotificationPage(items=[_NOTIFICATION], next_cursor=None),
        ),
    ),
)
