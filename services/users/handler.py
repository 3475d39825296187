"""Users function: the caller's own profile (``/users/me``): read, update, delete the account."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from aws_lambda_powertools.event_handler import Response

from libs.caller import caller_of
from libs.config import settings
from libs.http_function import HttpFunction
from libs.json_api import decode_body, empty_response, json_response
from libs.resources.metrics import ACCOUNTS_DELETED, PROFILES_UPDATED
from libs.sealed_fields import FieldSealer
from services.users import profiles
from services.users.models import UpdateProfile
from services.users.profile_table import Sealing

api = HttpFunction("users")
app = api.app
# The container's data keys: reused across requests within their bounds (no KMS call when warm).
sealer = FieldSealer(settings().pii_key_arn)


async def sealing() -> Sealing:
    """The sealer with this container's KMS client."""
    return Sealing(sealer, await api.clients.kms())


@api.route("GET /users/me")
async def get_me() -> Response[str]:
    caller = caller_of(app.current_event)
    profile = await profiles.read_profile(
        await api.clients.cognito(),
        await api.clients.dynamodb(),
        pool_id=settings().user_pool_id,
        table=settings().table_name,
        user_id=caller.user_id,
        sealing=await sealing(),
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
        sealing=await sealing(),
    )
    api.count(PROFILES_UPDATED)
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
        correlation_id=api.correlation_id,
    )
    if removed:
        api.count(ACCOUNTS_DELETED)
    return empty_response(204)


handler = api.handler
