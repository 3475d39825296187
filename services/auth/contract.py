"""The auth routes' contracts: what each takes and answers (for the OpenAPI document)."""

from __future__ import annotations

from libs.api_contract import Header, Link, RouteContract, Success
from libs.problems import (
    Conflict,
    Forbidden,
    InvalidCode,
    TooManyRequests,
    Unauthorized,
    UserNotConfirmed,
)
from services.auth.models import (
    Confirm,
    ForgotPassword,
    LogIn,
    Refresh,
    RefreshedTokens,
    Register,
    Registered,
    ResetPassword,
    Tokens,
)

_EMAIL = "ada@example.com"
# Example values of the documentation, not credentials of anything.
_PASSWORD = "Correct-Horse-7"  # noqa: S105
_NEW_PASSWORD = "Battery-Staple-8"  # noqa: S105
_TOKEN_TYPE = "Bearer"  # noqa: S105
# Shortened: real Cognito tokens are JWTs of about a thousand characters (refresh: ~1,800).
_ACCESS = "eyJraWQiOiJsb2NhbCIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI1ZjFjOGUyYSJ9.c2lnbmF0dXJl"
_ID = "eyJraWQiOiJsb2NhbCIsImFsZyI6IlJTMjU2In0.eyJhdWQiOiJ3ZWIifQ.c2lnbmF0dXJl"
_REFRESH = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.ZW5jcnlwdGVk.aXY.Y2lwaGVy.dGFn"
_NO_STORE = Header(
    name="Cache-Control",
    description="Token responses are never stored (RFC 6749, section 5.1)",
    schema={"type": "string", "enum": ["no-store"]},
)
_POLICY_NOTE = (
    "Checked against the user pool's password policy first: a weak password is a 422 naming "
    "the field and the unmet rules."
)

CONTRACTS = (
    RouteContract(
        route="POST /auth/register",
        operation_id="register",
        description="Signs the user up; Cognito emails a confirmation code. " + _POLICY_NOTE,
        body=Register,
        body_example=Register(email=_EMAIL, password=_PASSWORD, name="Ada Lovelace"),
        problems=(Conflict, TooManyRequests),
        notes={"409": "The email is already registered."},
        success=Success(
            status=201,
            description="Registered; `confirmed` is false until the emailed code is confirmed",
            body=Registered,
            example=Registered(user_id="5f1c8e2a-90d4-4b7b-8c3e-2a6d9f0b1c47", confirmed=False),
        ),
    ),
    RouteContract(
        route="POST /auth/confirm",
        operation_id="confirmRegistration",
        description="Confirms the registration with the emailed code; publishes `UserRegistered`.",
        body=Confirm,
        body_example=Confirm(email=_EMAIL, code="123456"),
        problems=(InvalidCode, Conflict, TooManyRequests),
        notes={
            "400": "The code is wrong or expired, or the email unknown (the same answer).",
            "409": "The registration is already confirmed.",
        },
        success=Success(status=204, description="Confirmed; the user may log in"),
    ),
    RouteContract(
        route="POST /auth/login",
        operation_id="logIn",
        body=LogIn,
        body_example=LogIn(email=_EMAIL, password=_PASSWORD),
        problems=(Unauthorized, UserNotConfirmed, Forbidden, TooManyRequests),
        notes={
            "401": "A wrong password and an unknown email get the same answer.",
            "403": "The registration is not confirmed yet, or the account needs a step this "
            "API does not offer (a new password, MFA).",
        },
        success=Success(
            status=200,
            description="Tokens: send the access token as `Authorization: Bearer <token>`",
            body=Tokens,
            example=Tokens(
                access_token=_ACCESS,
                id_token=_ID,
                refresh_token=_REFRESH,
                expires_in=900,
                token_type=_TOKEN_TYPE,
            ),
            headers=(_NO_STORE,),
            links=(
                Link(
                    name="RefreshTokens",
                    operation_id="refreshTokens",
                    description="New access and id tokens from the refresh token",
                    request_body={"refreshToken": "$response.body#/refreshToken"},
                ),
            ),
        ),
    ),
    RouteContract(
        route="POST /auth/refresh",
        operation_id="refreshTokens",
        body=Refresh,
        body_example=Refresh(refresh_token=_REFRESH),
        problems=(Unauthorized, TooManyRequests),
        notes={"401": "The refresh token is invalid, expired or revoked (by a logout)."},
        success=Success(
            status=200,
            description="New access and id tokens; the refresh token stays valid",
            body=RefreshedTokens,
            example=RefreshedTokens(
                access_token=_ACCESS, id_token=_ID, expires_in=900, token_type=_TOKEN_TYPE
            ),
            headers=(_NO_STORE,),
        ),
    ),
    RouteContract(
        route="POST /auth/forgot-password",
        operation_id="forgotPassword",
        body=ForgotPassword,
        body_example=ForgotPassword(email=_EMAIL),
        problems=(TooManyRequests,),
        success=Success(
            status=202,
            description="A reset code is on its way if the account exists (the same answer "
            "for an unknown email)",
        ),
    ),
    RouteContract(
        route="POST /auth/reset-password",
        operation_id="resetPassword",
        description="Sets a new password with the emailed reset code. " + _POLICY_NOTE,
        body=ResetPassword,
        body_example=ResetPassword(email=_EMAIL, code="123456", new_password=_NEW_PASSWORD),
        problems=(InvalidCode, TooManyRequests),
        notes={"400": "The code is wrong or expired, or the email unknown (the same answer)."},
        success=Success(status=204, description="The password is changed"),
    ),
    RouteContract(
        route="POST /auth/logout",
        operation_id="logOut",
        description=(
            "Cognito global sign-out: the refresh token is revoked at once. API Gateway keeps "
            "accepting the access token until it expires (15 minutes), as it checks no revocation."
        ),
        problems=(Unauthorized, TooManyRequests),
        notes={"401": "The access token was already revoked or expired at Cognito."},
        success=Success(status=204, description="Signed out everywhere"),
    ),
)
