"""Notifications function: the caller's notifications, newest first."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from aws_lambda_powertools.event_handler import Response

from libs.caller import caller_of
from libs.config import settings
from libs.http_function import HttpFunction
from libs.json_api import decode_query, json_response
from services.notifications import notification_table
from services.notifications.models import NotificationPage, NotificationQuery

api = HttpFunction("notifications")
app = api.app


@api.route("GET /notifications")
async def list_notifications() -> Response[str]:
    caller = caller_of(app.current_event)
    query = decode_query(app.current_event, NotificationQuery)
    db = await api.clients.dynamodb()
    page = await notification_table.notifications_of_user(
        db, settings().table_name, caller.user_id, limit=query.limit, cursor=query.cursor
    )
    return json_response(200, NotificationPage(items=page.items, next_cursor=page.next_cursor))


handler = api.handler
