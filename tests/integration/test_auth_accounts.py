"""Account operations against the emulator's Cognito, through the real SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from emulator.local_system import LocalSystem
from libs.problems import (
    Conflict,
    InvalidCode,
    ProblemError,
    Unauthorized,
    UserNotConfirmed,
    ValidationFailed,
)
from services.auth import accounts
from services.auth.models import (
    Confirm,
    ForgotPassword,
    LogIn,
    Refresh,
    Register,
    ResetPassword,
)
from tests.accounts import AccountEmails, account_email

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

pytestmark = pytest.mark.integration
ANY_CODE = "confirms with a made-up code, which moto accepts"

PASSWORD = "Correct-Horse-7"


@pytest.fixture(scope="module")
def client_id(stack: LocalSystem) -> str:
    return stack.outputs.user_pool_client_id


@pytest.fixture(scope="module")
def pool_id(stack: LocalSystem) -> str:
    return stack.outputs.user_pool_id


async def registered(
    cognito: CognitoIdentityProviderClient,
    client_id: str,
    emails: AccountEmails,
    *,
    confirmed: bool,
) -> str:
    """The email of a new account, confirmed or not."""
    email = emails.new("auth")
    await accounts.register(cognito, client_id, Register(email=email, password=PASSWORD, name="N"))
    if confirmed:
        await accounts.confirm(cognito, client_id, Confirm(email=email, code="123456"))
    return email


@pytest.mark.moto(ANY_CODE)
async def test_a_confirmed_registration_describes_the_new_user(
    cognito: CognitoIdentityProviderClient,
    client_id: str,
    pool_id: str,
    account_emails: AccountEmails,
) -> None:
    # Given a registration
    email = account_emails.new("auth")
    new = await accounts.register(
        cognito, client_id, Register(email=email, password=PASSWORD, name="Ada Lovelace")
    )
    assert new.confirmed is False
    # When it is confirmed (the emulator accepts any code)
    await accounts.confirm(cognito, client_id, Confirm(email=email, code="1"))
    user = await accounts.confirmed_user(cognito, pool_id, email)
    # Then the confirmed user is the registered one, with its email and name
    assert (user.user_id, user.email, user.name) == (new.user_id, email, "Ada Lovelace")


async def test_registering_an_email_twice_is_a_conflict(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    email = await registered(cognito, client_id, account_emails, confirmed=False)
    with pytest.raises(Conflict):
        await accounts.register(
            cognito, client_id, Register(email=email, password=PASSWORD, name="Again")
        )


@pytest.mark.moto("a password over Cognito's limit is moto's InvalidPasswordException")
async def test_a_password_only_cognito_refuses_is_named_like_a_local_refusal(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    # Given a password meeting the policy's rules but over Cognito's 256 characters, which
    # the emulator refuses with InvalidPasswordException (the body's schema stops it earlier)
    long_password = "Aa1" + "x" * 254
    with pytest.raises(ValidationFailed) as raised:
        await accounts.register(
            cognito,
            client_id,
            Register(email=account_emails.new("auth"), password=long_password, name="N"),
        )
    assert raised.value.invalid_params is not None
    assert [p.name for p in raised.value.invalid_params] == ["password"]


async def test_a_password_of_cognitos_full_length_registers_and_logs_in(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    # Given a password of 256 characters, Cognito's limit, meeting the policy
    password = "x" * 250 + "Aa1-Zz"
    email = account_emails.new("auth")
    # When it registers
    new = await accounts.register(
        cognito, client_id, Register(email=email, password=password, name="N")
    )
    # Then the account exists, unconfirmed as any new one
    assert new.confirmed is False


@pytest.mark.moto(ANY_CODE)
async def test_an_unknown_email_and_a_wrong_password_get_the_same_problem(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    # Given a real account
    email = await registered(cognito, client_id, account_emails, confirmed=True)
    # When one login has a wrong password and another an email nobody registered
    problems: list[ProblemError] = []
    for attempt in (
        LogIn(email=email, password="Wrong-Horse-7"),
        LogIn(email=account_email("nobody"), password=PASSWORD),
    ):
        with pytest.raises(Unauthorized) as raised:
            await accounts.log_in(cognito, client_id, attempt)
        problems.append(raised.value)
    # Then the two answers are the same in every field
    wrong_password, unknown_email = (p.to_problem() for p in problems)
    assert wrong_password == unknown_email


async def test_logging_in_before_confirming_is_user_not_confirmed(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    email = await registered(cognito, client_id, account_emails, confirmed=False)
    with pytest.raises(UserNotConfirmed):
        await accounts.log_in(cognito, client_id, LogIn(email=email, password=PASSWORD))


async def test_confirming_an_unknown_email_looks_like_a_wrong_code(
    cognito: CognitoIdentityProviderClient, client_id: str
) -> None:
    with pytest.raises(InvalidCode):
        await accounts.confirm(cognito, client_id, Confirm(email=account_email("nobody"), code="1"))


@pytest.mark.moto(ANY_CODE)
async def test_a_refresh_gives_new_tokens_and_a_garbage_token_is_unauthorized(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    email = await registered(cognito, client_id, account_emails, confirmed=True)
    tokens = await accounts.log_in(cognito, client_id, LogIn(email=email, password=PASSWORD))
    refreshed = await accounts.refresh(
        cognito, client_id, Refresh(refresh_token=tokens.refresh_token)
    )
    assert refreshed.access_token != tokens.access_token
    assert refreshed.token_type == "Bearer"
    with pytest.raises(Unauthorized):
        await accounts.refresh(cognito, client_id, Refresh(refresh_token="not-a-refresh-token"))


async def test_a_reset_code_is_sent_for_unknown_emails_too(
    cognito: CognitoIdentityProviderClient, client_id: str
) -> None:
    # No exception: the caller cannot tell this email has no account
    await accounts.send_reset_code(
        cognito, client_id, ForgotPassword(email=account_email("nobody"))
    )


@pytest.mark.moto(ANY_CODE)
async def test_a_wrong_reset_code_is_refused_and_changes_nothing(
    cognito: CognitoIdentityProviderClient, client_id: str, account_emails: AccountEmails
) -> None:
    # Given an account with a reset code on its way
    email = await registered(cognito, client_id, account_emails, confirmed=True)
    await accounts.send_reset_code(cognito, client_id, ForgotPassword(email=email))
    # When a code other than the one sent is used (the emulator checks codes of its own form)
    wrong = ResetPassword(
        email=email, code="moto-confirmation-code:0", new_password="Battery-Staple-9"
    )
    with pytest.raises(InvalidCode):
        await accounts.reset_password(cognito, client_id, wrong)
    # Then the old password still works
    await accounts.log_in(cognito, client_id, LogIn(email=email, password=PASSWORD))
