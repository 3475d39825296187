"""Accounts in the Cognito user pool: registration, confirmation, sessions and password resets.

Every Cognito error becomes a problem or a ``CognitoRefused`` here: Cognito's messages may quote
the token or username they refused, so none of them travels on to a log or a client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import msgspec
from botocore.exceptions import ClientError

from libs.problems import (
    Conflict,
    Forbidden,
    InvalidCode,
    InvalidParam,
    ProblemError,
    TooManyRequests,
    Unauthorized,
    UserNotConfirmed,
    ValidationFailed,
)
from libs.resources.user_pool import USER_POOL
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

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

ProblemFactory = Callable[[], ProblemError]

# Cognito's throttling codes, with the seconds to suggest waiting: request-rate limits pass
# quickly, limits on attempts (codes, sign-ins) last longer.
RETRY_AFTER_SECONDS: Mapping[str, str] = {
    "TooManyRequestsException": "1",
    "LimitExceededException": "30",
    "TooManyFailedAttemptsException": "30",
}
# ForgotPassword errors that would tell an unknown or unverified email from a real account.
_HIDDEN_BY_FORGOT_PASSWORD = frozenset({"UserNotFoundException", "InvalidParameterException"})


class CognitoRefused(Exception):
    """Cognito answered with an error this service does not expect (its message left out)."""

    def __init__(self, operation: str, code: str) -> None:
        super().__init__(f"Cognito {operation} failed with {code or 'an unnamed error'}")
        self.operation = operation
        self.code = code


class ConfirmedUser(msgspec.Struct, frozen=True):
    """A user whose registration was just confirmed."""

    user_id: str
    email: str
    name: str


# -- errors -----------------------------------------------------------------------------------


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call, e.g. ``NotAuthorizedException``."""
    return error.response.get("Error", {}).get("Code", "")


def translated_error(
    error: ClientError, operation: str, expected: Mapping[str, ProblemFactory]
) -> Exception:
    """What to raise for a Cognito error: its problem, 429 when throttled, else CognitoRefused."""
    code = error_code(error)
    if code in expected:
        return expected[code]()
    retry_after = RETRY_AFTER_SECONDS.get(code)
    if retry_after is not None:
        return TooManyRequests(
            "Too many attempts; retry later", headers={"Retry-After": retry_after}
        )
    return CognitoRefused(operation, code)


@contextmanager
def cognito_errors(
    operation: str, expected: Mapping[str, ProblemFactory] | None = None
) -> Iterator[None]:
    """Raise the translation of any Cognito error in the block, without the original attached."""
    try:
        yield
    except ClientError as error:
        # `from None`: a logged traceback must not print the original, whose message may
        # quote a token.
        raise translated_error(error, operation, expected or {}) from None


def wrong_credentials() -> ProblemError:
    """The one answer to an unknown email and to a wrong password: neither reveals an account."""
    return Unauthorized("Incorrect email or password")


def weak_password(field: str, unmet: Sequence[str]) -> ValidationFailed:
    """The 422 naming a password field and the policy rules the password breaks."""
    reason = f"Needs {', '.join(unmet)}" if unmet else "Does not meet the password policy"
    return ValidationFailed(
        "The password does not meet the password policy",
        invalid_params=[InvalidParam(name=field, reason=reason)],
    )


def check_password(field: str, password: str) -> None:
    """Refuse a password the pool's policy would refuse, naming the unmet rules."""
    unmet = USER_POOL.password_policy.unmet_rules(password)
    if unmet:
        raise weak_password(field, unmet)


def _invalid_code() -> ProblemError:
    return InvalidCode("The code is wrong or expired; request a new one")


def _invalid_refresh_token() -> ProblemError:
    return Unauthorized("The refresh token is invalid, expired or revoked")


# What each operation's expected errors mean. A password Cognito refuses passed the local check
# of the same declared rules, so there are no unmet rules to name: Cognito's policy differs.
SIGN_UP_ERRORS: Mapping[str, ProblemFactory] = {
    "UsernameExistsException": lambda: Conflict("This email is already registered"),
    "InvalidPasswordException": lambda: weak_password("password", ()),
    # The local checks pass what Cognito's own format check may still refuse (the username).
    "InvalidParameterException": lambda: ValidationFailed(
        "The user pool does not accept this registration",
        invalid_params=[InvalidParam(name="email", reason="Not accepted as a username")],
    ),
}
CONFIRM_SIGN_UP_ERRORS: Mapping[str, ProblemFactory] = {
    "CodeMismatchException": _invalid_code,
    "ExpiredCodeException": _invalid_code,
    "UserNotFoundException": _invalid_code,  # an unknown email gets the answer of a wrong code
    "NotAuthorizedException": lambda: Conflict("This registration is already confirmed"),
}
LOG_IN_ERRORS: Mapping[str, ProblemFactory] = {
    "NotAuthorizedException": wrong_credentials,
    "UserNotFoundException": wrong_credentials,
    "UserNotConfirmedException": lambda: UserNotConfirmed(
        "Confirm the registration with the emailed code first"
    ),
}
REFRESH_ERRORS: Mapping[str, ProblemFactory] = {
    "NotAuthorizedException": _invalid_refresh_token,
    "UserNotFoundException": _invalid_refresh_token,
}
RESET_PASSWORD_ERRORS: Mapping[str, ProblemFactory] = {
    "CodeMismatchException": _invalid_code,
    "ExpiredCodeException": _invalid_code,
    "UserNotFoundException": _invalid_code,
    "InvalidPasswordException": lambda: weak_password("newPassword", ()),
}
SIGN_OUT_ERRORS: Mapping[str, ProblemFactory] = {
    "NotAuthorizedException": lambda: Unauthorized("The access token is expired or revoked"),
}


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header, with or without the ``Bearer`` scheme."""
    value = (authorization or "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer":
        value = token.strip()
    if not value or " " in value:
        raise Unauthorized("Send the access token in the Authorization header")
    return value


# -- operations -------------------------------------------------------------------------------


async def register(
    cognito: CognitoIdentityProviderClient, client_id: str, request: Register
) -> Registered:
    """Sign a user up; Cognito emails a confirmation code unless it confirms them itself."""
    check_password("password", request.password)
    with cognito_errors("SignUp", SIGN_UP_ERRORS):
        response = await cognito.sign_up(
            ClientId=client_id,
            Username=request.email,
            Password=request.password,
            UserAttributes=[
                {"Name": "email", "Value": request.email},
                {"Name": "name", "Value": request.name},
            ],
        )
    return Registered(user_id=response["UserSub"], confirmed=response["UserConfirmed"])


async def confirm(cognito: CognitoIdentityProviderClient, client_id: str, request: Confirm) -> None:
    """Confirm a registration with the code Cognito emailed."""
    with cognito_errors("ConfirmSignUp", CONFIRM_SIGN_UP_ERRORS):
        await cognito.confirm_sign_up(
            ClientId=client_id, Username=request.email, ConfirmationCode=request.code
        )


async def confirmed_user(
    cognito: CognitoIdentityProviderClient, pool_id: str, email: str
) -> ConfirmedUser:
    """Who the account of ``email`` is: id, email and name (AdminGetUser)."""
    with cognito_errors("AdminGetUser"):
        user = await cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
    return ConfirmedUser(
        user_id=attributes.get("sub") or user["Username"],
        email=attributes.get("email", email),
        name=attributes.get("name", ""),
    )


async def log_in(cognito: CognitoIdentityProviderClient, client_id: str, request: LogIn) -> Tokens:
    """Exchange email and password for tokens.

    An unknown email and a wrong password take the same path: one InitiateAuth, one answer.
    """
    with cognito_errors("InitiateAuth", LOG_IN_ERRORS):
        response = await cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": request.email, "PASSWORD": request.password},
        )
    result = response.get("AuthenticationResult")
    if result is None:  # a challenge: a new password or MFA, which this API does not offer
        raise Forbidden(f"The account needs the {response.get('ChallengeName')} step to log in")
    return Tokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        refresh_token=result["RefreshToken"],
        expires_in=result["ExpiresIn"],
        token_type=result["TokenType"],
    )


async def refresh(
    cognito: CognitoIdentityProviderClient, client_id: str, request: Refresh
) -> RefreshedTokens:
    """New access and id tokens from a refresh token (401 once it is revoked or expired)."""
    with cognito_errors("InitiateAuth", REFRESH_ERRORS):
        response = await cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": request.refresh_token},
        )
    result = response["AuthenticationResult"]
    return RefreshedTokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        expires_in=result["ExpiresIn"],
        token_type=result["TokenType"],
    )


async def send_reset_code(
    cognito: CognitoIdentityProviderClient, client_id: str, request: ForgotPassword
) -> None:
    """Have Cognito email a password reset code; an unknown email succeeds the same way."""
    try:
        await cognito.forgot_password(ClientId=client_id, Username=request.email)
    except ClientError as error:
        if error_code(error) in _HIDDEN_BY_FORGOT_PASSWORD:
            return
        raise translated_error(error, "ForgotPassword", {}) from None


async def reset_password(
    cognito: CognitoIdentityProviderClient, client_id: str, request: ResetPassword
) -> None:
    """Set a new password with the emailed reset code."""
    check_password("newPassword", request.new_password)
    with cognito_errors("ConfirmForgotPassword", RESET_PASSWORD_ERRORS):
        await cognito.confirm_forgot_password(
            ClientId=client_id,
            Username=request.email,
            ConfirmationCode=request.code,
            Password=request.new_password,
        )


async def sign_out(cognito: CognitoIdentityProviderClient, access_token: str) -> None:
    """Revoke the user's tokens at Cognito; API Gateway still accepts access tokens until expiry."""
    with cognito_errors("GlobalSignOut", SIGN_OUT_ERRORS):
        await cognito.global_sign_out(AccessToken=access_token)
