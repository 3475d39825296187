"""Cognito errors become stable problems, and none of Cognito's messages survives translation."""

from __future__ import annotations

import traceback
from collections.abc import Mapping

import pytest
from botocore.exceptions import ClientError

from libs.problems import ProblemError, TooManyRequests, Unauthorized, ValidationFailed
from services.auth.accounts import (
    CONFIRM_SIGN_UP_ERRORS,
    LOG_IN_ERRORS,
    REFRESH_ERRORS,
    RESET_PASSWORD_ERRORS,
    SIGN_OUT_ERRORS,
    SIGN_UP_ERRORS,
    CognitoRefused,
    ProblemFactory,
    cognito_errors,
    translated_error,
    weak_password,
    wrong_credentials,
)

# What a Cognito emulator (moto) really puts in some messages: the refused token itself.
TOKEN = "eyJraWQiOiJkdW1teSJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"


def cognito_error(code: str, message: str = "", operation: str = "InitiateAuth") -> ClientError:
    """A ClientError exactly as botocore builds it from Cognito's error response."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "RequestId": "6b8c1a0e-2f4d-4c8e-9a51-3d7e0f1b2c44",
                "HostId": "",
                "HTTPStatusCode": 400,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "retry_after"),
    [
        ("TooManyRequestsException", "1"),
        ("LimitExceededException", "30"),
        ("TooManyFailedAttemptsException", "30"),
    ],
)
def test_cognito_throttling_is_a_429_with_retry_after(code: str, retry_after: str) -> None:
    # Given Cognito throttling any operation
    error = translated_error(cognito_error(code, "Rate exceeded"), "SignUp", {})
    # Then the client is told to retry later, and when
    assert isinstance(error, TooManyRequests)
    problem = error.to_problem()
    assert (problem.status, problem.type) == (
        429,
        "https://serverless-blueprint.dev/problems/too-many-requests",
    )
    assert error.headers == {"Retry-After": retry_after}


@pytest.mark.parametrize(
    ("operation", "errors", "code", "status", "slug"),
    [
        ("SignUp", SIGN_UP_ERRORS, "UsernameExistsException", 409, "conflict"),
        ("SignUp", SIGN_UP_ERRORS, "InvalidPasswordException", 422, "validation-failed"),
        ("ConfirmSignUp", CONFIRM_SIGN_UP_ERRORS, "CodeMismatchException", 400, "invalid-code"),
        ("ConfirmSignUp", CONFIRM_SIGN_UP_ERRORS, "ExpiredCodeException", 400, "invalid-code"),
        ("ConfirmSignUp", CONFIRM_SIGN_UP_ERRORS, "UserNotFoundException", 400, "invalid-code"),
        ("ConfirmSignUp", CONFIRM_SIGN_UP_ERRORS, "NotAuthorizedException", 409, "conflict"),
        ("InitiateAuth", LOG_IN_ERRORS, "NotAuthorizedException", 401, "unauthorized"),
        ("InitiateAuth", LOG_IN_ERRORS, "UserNotFoundException", 401, "unauthorized"),
        ("InitiateAuth", LOG_IN_ERRORS, "UserNotConfirmedException", 403, "user-not-confirmed"),
        ("InitiateAuth", LOG_IN_ERRORS, "TooManyRequestsException", 429, "too-many-requests"),
        ("InitiateAuth", REFRESH_ERRORS, "NotAuthorizedException", 401, "unauthorized"),
        (
            "ConfirmForgotPassword",
            RESET_PASSWORD_ERRORS,
            "CodeMismatchException",
            400,
            "invalid-code",
        ),
        (
            "ConfirmForgotPassword",
            RESET_PASSWORD_ERRORS,
            "ExpiredCodeException",
            400,
            "invalid-code",
        ),
        (
            "ConfirmForgotPassword",
            RESET_PASSWORD_ERRORS,
            "LimitExceededException",
            429,
            "too-many-requests",
        ),
        ("GlobalSignOut", SIGN_OUT_ERRORS, "NotAuthorizedException", 401, "unauthorized"),
    ],
)
def test_each_operations_cognito_errors_have_a_stable_problem(
    operation: str, errors: Mapping[str, ProblemFactory], code: str, status: int, slug: str
) -> None:
    # Given Cognito refusing the operation with the code
    error = translated_error(cognito_error(code, "a message", operation), operation, errors)
    # Then the client gets the problem of stable type
    assert isinstance(error, ProblemError)
    assert (error.status, error.slug) == (status, slug)


@pytest.mark.parametrize(
    ("errors", "field"), [(SIGN_UP_ERRORS, "password"), (RESET_PASSWORD_ERRORS, "newPassword")]
)
def test_a_password_cognito_refuses_names_the_field(
    errors: Mapping[str, ProblemFactory], field: str
) -> None:
    error = translated_error(cognito_error("InvalidPasswordException"), "SignUp", errors)
    assert isinstance(error, ValidationFailed)
    assert error.invalid_params is not None
    assert [p.name for p in error.invalid_params] == [field]


def test_an_unexpected_code_is_refused_without_cognitos_message() -> None:
    error = translated_error(
        cognito_error("InternalErrorException", f"failed for {TOKEN}"), "GlobalSignOut", {}
    )
    assert isinstance(error, CognitoRefused)
    assert not isinstance(error, ProblemError)  # a 500 through the function's unhandled path
    assert str(error) == "Cognito GlobalSignOut failed with InternalErrorException"


def test_the_logged_traceback_of_a_translated_error_does_not_quote_the_original() -> None:
    # Given a Cognito error whose message quotes the token it refused
    with pytest.raises(CognitoRefused) as raised, cognito_errors("GlobalSignOut"):
        raise cognito_error("NotAuthorizedException", TOKEN, "GlobalSignOut")
    # When the error is formatted as the logger formats an exception
    logged = "".join(traceback.format_exception(raised.value))
    # Then neither the token nor the original error appears
    assert "CognitoRefused: Cognito GlobalSignOut failed with NotAuthorizedException" in logged
    assert TOKEN not in logged
    assert "ClientError" not in logged


def test_a_translated_problem_does_not_carry_the_original_either() -> None:
    with (
        pytest.raises(Unauthorized) as raised,
        cognito_errors("InitiateAuth", LOG_IN_ERRORS),
    ):
        raise cognito_error("NotAuthorizedException", TOKEN)
    assert raised.value.__suppress_context__
    assert TOKEN not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize("code", ["NotAuthorizedException", "UserNotFoundException"])
def test_a_wrong_password_and_an_unknown_user_are_indistinguishable(code: str) -> None:
    error = translated_error(cognito_error(code, "a message"), "InitiateAuth", LOG_IN_ERRORS)
    assert isinstance(error, ProblemError)
    assert error.to_problem() == wrong_credentials().to_problem()


def test_a_weak_password_problem_names_the_field_and_the_unmet_rules() -> None:
    problem = weak_password("newPassword", ["at least 8 characters", "a digit"]).to_problem()
    assert problem.status == 422
    assert problem.invalid_params is not None
    [param] = problem.invalid_params
    assert param.name == "newPassword"
    assert param.reason == "Needs at least 8 characters, a digit"
