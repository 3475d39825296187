"""Profile rules: one view of the Cognito account and the stored profile, updates, deletion."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from libs.domain_events import UserDeleted, utc_now
from libs.problems import NotFound
from services.users import cognito_accounts, profile_table
from services.users.models import Account, Profile, StoredProfile, UpdateProfile
from services.users.profile_table import Sealing

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_dynamodb import DynamoDBClient

ACCOUNT_GONE = "The account no longer exists"


def merged_profile(account: Account, stored: StoredProfile | None) -> Profile:
    """The account and the stored profile as one; the name falls back to Cognito's ``name``."""
    if stored is None:
        return Profile(
            user_id=account.user_id,
            email=account.email,
            email_verified=account.email_verified,
            name=account.name,
        )
    return Profile(
        user_id=account.user_id,
        email=account.email,
        email_verified=account.email_verified,
        name=stored.name or account.name,
        phone=stored.phone,
        address=stored.address,
        preferences=stored.preferences,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        version=stored.version,
    )


async def read_profile(
    cognito: CognitoIdentityProviderClient,
    db: DynamoDBClient,
    *,
    pool_id: str,
    table: str,
    user_id: str,
    sealing: Sealing,
) -> Profile:
    """The caller's account and profile, read at the same time (404 once the account is gone)."""
    # The two reads are independent: awaiting them together on the one event loop makes the
    # request cost the slower of the two round trips instead of their sum.
    account, stored = await asyncio.gather(
        cognito_accounts.get_account(cognito, pool_id, user_id),
        profile_table.get_profile(db, table, user_id, sealing),
    )
    if account is None:
        raise NotFound(ACCOUNT_GONE)
    return merged_profile(account, stored)


async def update_profile(
    cognito: CognitoIdentityProviderClient,
    db: DynamoDBClient,
    *,
    pool_id: str,
    table: str,
    user_id: str,
    change: UpdateProfile,
    sealing: Sealing,
) -> Profile:
    """Merge ``change`` into the stored profile if its version is current (409 if not)."""
    # Read the account first, not alongside the write: a deleted account must not get a
    # profile back from a token that is still valid at the gateway.
    account = await cognito_accounts.get_account(cognito, pool_id, user_id)
    if account is None:
        raise NotFound(ACCOUNT_GONE)
    stored = await profile_table.update_profile(db, table, user_id, change, sealing, now=utc_now())
    return merged_profile(account, stored)


async def delete_account(
    cognito: CognitoIdentityProviderClient,
    db: DynamoDBClient,
    *,
    pool_id: str,
    table: str,
    user_id: str,
    correlation_id: str | None = None,
) -> bool:
    """Delete the profile, then the Cognito account; True when this call removed the account.

    Both steps succeed when already done, so a retry after a failure in between completes it.
    Profile first: if the account went first and the profile delete failed, nobody could log in
    again to retry once the token expired. ``UserDeleted`` is committed with the profile's
    deletion (transactional outbox), on every call, retries included: at least once, and
    consumers erase by user id, which repeats harmlessly. Orders are kept as business records.
    """
    await profile_table.delete_profile(
        db, table, user_id, UserDeleted(user_id=user_id, correlation_id=correlation_id)
    )
    return await cognito_accounts.delete_account(cognito, pool_id, user_id)
