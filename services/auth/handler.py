"""Auth function: registration, login, token refresh, password reset and logout via Cognito.

Bodies carry passwords and tokens: nothing here logs a body, a token or a Cognito message.
"""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from libs.caller import caller_of
from libs.config import settings
from libs.domain_events import UserRegistered
from libs.http_function import HttpFunction
from libs.json_api import decode_body, empty_response, json_response
from libs.outbox import record_event
from libs.problems import Unauthorized, UserNotConfirmed
from libs.resources.metrics import (
    EVENTS_NOT_PUBLISHED,
    LOGINS_FAILED,
    LOGINS_SUCCEEDED,
    REGISTRATIONS,
)
from services.auth import accounts
from services.auth.models import Confirm, ForgotPassword, LogIn, Refresh, Register, ResetPassword

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

api = HttpFunction("auth")
app = api.app

# Token responses must not be stored by browsers or proxies (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store"}


async def _announce_registration(cognito: CognitoIdentityProviderClient, email: str) -> None:
    # The account is confirmed: failing to describe or announce it must not fail the request.
    try:
        user = await accounts.confirmed_user(cognito, settings().user_pool_id, email)
        event = UserRegistered(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            correlation_id=api.correlation_id,
        )
        # Cognito cannot join a DynamoDB transaction: the outbox item is written right after
        # the confirmation (a Cognito PostConfirmation trigger would close that last gap).
        await record_event(await api.clients.dynamodb(), settings().table_name, event)
    except Exception:
        api.logger.exception(
            "event not published", extra={"detail_type": UserRegistered.DETAIL_TYPE}
        )
        api.count(EVENTS_NOT_PUBLISHED)


@api.route("POST /auth/register")
async def register() -> Response[str]:
    request = decode_body(app.current_event, Register)
    cognito = await api.clients.cognito()
    registered = await accounts.register(cognito, settings().user_pool_client_id, request)
    api.count(REGISTRATIONS)
    return json_response(201, registered)


@api.route("POST /auth/confirm")
async def confirm() -> Response[str]:
    request = decode_body(app.current_event, Confirm)
    cognito = await api.clients.cognito()
    await accounts.confirm(cognito, settings().user_pool_client_id, request)
    await _announce_registration(cognito, request.email)
    return empty_response(204)


@api.route("POST /auth/login")
async def log_in() -> Response[str]:
    request = decode_body(app.current_event, LogIn)
    cognito = await api.clients.cognito()
    try:
        tokens = await accounts.log_in(cognito, settings().user_pool_client_id, request)
    except (Unauthorized, UserNotConfirmed):
        api.count(LOGINS_FAILED)
        raise
    api.count(LOGINS_SUCCEEDED)
    return json_response(200, tokens, NO_STORE)


@api.route("POST /auth/refresh")
async def refresh() -> Response[str]:
    request = decode_body(app.current_event, Refresh)
    cognito = await api.clients.cognito()
    tokens = await accounts.refresh(cognito, settings().user_pool_client_id, request)
    return json_response(200, tokens, NO_STORE)


@api.route("POST /auth/forgot-password")
async def forgot_password() -> Response[str]:
    request = decode_body(app.current_event, ForgotPassword)
    cognito = await api.clients.cognito()
    await accounts.send_reset_code(cognito, settings().user_pool_client_id, request)
    return empty_response(202)


@api.route("POST /auth/reset-password")
async def reset_password() -> Response[str]:
    request = decode_body(app.current_event, ResetPassword)
    cognito = await api.clients.cognito()
    await accounts.reset_password(cognito, settings().user_pool_client_id, request)
    return empty_response(204)


@api.route("POST /auth/logout")
async def log_out() -> Response[str]:
    caller_of(app.current_event)  # the gateway verified a token; refuse an event without one
    token = accounts.bearer_token(app.current_event.headers.get("authorization"))
    await accounts.sign_out(await api.clients.cognito(), token)
    return empty_response(204)


handler = api.handler
