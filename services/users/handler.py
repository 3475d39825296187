"""Users function: the caller's own profile (``/users/me``): read, update, delete the account."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from libs.caller import caller_of
from libs.config import settings
from libs.domain_events import DomainEvent, UserDeleted, publish
from libs.http_function import HttpFunction
from libs.json_api import decode_body, empty_response, json_response
from services.users import profiles
from services.users.models import UpdateProfile

api = HttpFunction("users")
app = api.app


async def _announce(event: DomainEvent) -> None:
    # The deletion is done; a failed publish must not turn success into an error.
    try:
        await publish(await api.clients.events(), settings().event_bus_name, [event])
    except Exception:
        api.logger.exception("event not published", extra={"detail_type": event.DETAIL_TYPE})
        api.metrics.add_metric(name="EventsNotPublished", unit="Count", value=1)


@api.route("GET /users/me")
async def get_me() -> Response[str]:
    caller = caller_of(app.current_event)
    profile = await profiles.read_profile(
        await api.clients.cognito(),
        await api.clients.dynamodb(),
        pool_id=settings().user_pool_id,
        table=settings().table_name,
        user_id=caller.user_id,
    )
    return json_response(200, profile)


@api.route("PUT /users/me")
async def update_me() -> Response[str]:
    caller = caller_of(app.current_event)
    change = decode_body(app.current_event, UpdateProfile)
    profile = await profiles.update_profile(
        await api.clients.cognito(),
        await api.clients.dynamodb(),
        pool_id=settings().user_pool_id,
        table=settings().table_name,
        user_id=caller.user_id,
        change=change,
    )
    api.metrics.add_metric(name="ProfilesUpdated", unit="Count", value=1)
    return json_response(200, profile)


@api.route("DELETE /users/me")
async def delete_me() -> Response[str]:
    caller = caller_of(app.current_event)
    removed = await profiles.delete_account(
        await api.clients.cognito(),
        await api.clients.dynamodb(),
        pool_id=settings().user_pool_id,
        table=settings().table_name,
        user_id=caller.user_id,
    )
    if removed:
        api.metrics.add_metric(name="AccountsDeleted", unit="Count", value=1)
    # Announced on every 204, retries included: a crash between the deletion and this publish
    # must not lose the event (at least once; consumers handle a repeat by userId).
    await _announce(UserDeleted(user_id=caller.user_id, correlation_id=api.correlation_id))
    return empty_response(204)


handler = api.handler
