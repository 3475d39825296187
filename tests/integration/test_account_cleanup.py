"""Test accounts are deleted from the user pool at teardown, whoever created them and how."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.accounts import PASSWORD, AccountEmails, account_email, delete_users
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

pytestmark = pytest.mark.integration


async def test_deleting_test_users_removes_each_and_tolerates_those_already_gone(
    stack: SystemUnderTest,
    cognito: CognitoIdentityProviderClient,
    account_emails: AccountEmails,
) -> None:
    pool_id = stack.outputs.user_pool_id
    # Given a user created through the admin API, one registered (in upper case, as a client
    # may type it; the auth API registers it in lower case), and one never created
    created, never = account_email("made"), account_email("never")
    registered = account_emails.new("signed")  # Cognito emails it a code
    await cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=created,
        UserAttributes=[{"Name": "email", "Value": created}],
        MessageAction="SUPPRESS",
    )
    await cognito.sign_up(
        ClientId=stack.outputs.user_pool_client_id, Username=registered, Password=PASSWORD
    )
    # When the test users are deleted
    await delete_users(cognito, pool_id, [created, registered.upper(), never])
    # Then neither existing user is left, and the missing one was no error
    for email in (created, registered):
        with pytest.raises(cognito.exceptions.UserNotFoundException):
            await cognito.admin_get_user(UserPoolId=pool_id, Username=email)
