"""Users' access to Cognito: the caller's account, read and deleted by its username (the sub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.users.models import Account

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

_USER_NOT_FOUND = "UserNotFoundException"


def _is_user_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == _USER_NOT_FOUND


async def get_account(
    cognito: CognitoIdentityProviderClient, pool_id: str, user_id: str
) -> Account | None:
    """A user's Cognito account, or None when it does not exist (any more)."""
    try:
        user = await cognito.admin_get_user(UserPoolId=pool_id, Username=user_id)
    except ClientError as error:
        if _is_user_not_found(error):
            return None
        raise
    attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
    return Account(
        user_id=user_id,
        email=attributes.get("email", ""),
        email_verified=attributes.get("email_verified") == "true",
        name=attributes.get("name") or None,
    )


async def delete_account(
    cognito: CognitoIdentityProviderClient, pool_id: str, user_id: str
) -> bool:
    """Delete a user's Cognito account; False when it was already gone."""
    try:
        await cognito.admin_delete_user(UserPoolId=pool_id, Username=user_id)
    except ClientError as error:
        if _is_user_not_found(error):
            return False
        raise
    return True
