"""The users routes' contracts: what each takes and answers (for the OpenAPI document)."""

from __future__ import annotations

from libs.api_contract import Link, RouteContract, Success
from libs.problems import Conflict, NotFound
from services.users.models import Address, PreferenceChanges, Preferences, Profile, UpdateProfile

_PROFILE = Profile(
    user_id="5f1c8e2a-90d4-4b7b-8c3e-2a6d9f0b1c47",
    email="ada@example.com",
    email_verified=True,
    name="Ada Lovelace",
    phone="+447700900123",
    address=Address(line1="12 Analytical Row", city="London", postal_code="N1 9GU", country="GB"),
    preferences=Preferences(email=True, sms=True),
    created_at="2026-03-14T09:26:53.589Z",
    updated_at="2026-03-14T09:30:12.004Z",
    version=2,
)
_GONE = "The account was deleted (its token stays valid at the gateway until it expires)."

CONTRACTS = (
    RouteContract(
        route="GET /users/me",
        operation_id="getProfile",
        description="The Cognito account and the stored profile, read concurrently.",
        problems=(NotFound,),
        notes={"404": _GONE},
        success=Success(
            status=200,
            description="The profile (defaults and `version: 0` before the first update)",
            body=Profile,
            example=_PROFILE,
            links=(
                Link(
                    name="UpdateProfile",
                    operation_id="updateProfile",
                    description="Update the profile at the version read",
                    request_body={"version": "$response.body#/version"},
                ),
            ),
        ),
    ),
    RouteContract(
        route="PUT /users/me",
        operation_id="updateProfile",
        description=(
            "Merges the fields sent: an absent field is kept, `null` clears `name`, `phone` or "
            "`address`, `preferences` merge flag by flag. `version` is the one read (0 before "
            "the first update); a stale one is a 409."
        ),
        body=UpdateProfile,
        body_example=UpdateProfile(
            version=1, phone="+447700900123", preferences=PreferenceChanges(sms=True)
        ),
        problems=(NotFound, Conflict),
        notes={"404": _GONE},
        success=Success(
            status=200, description="The profile after the update", body=Profile, example=_PROFILE
        ),
    ),
    RouteContract(
        route="DELETE /users/me",
        operation_id="deleteAccount",
        description=(
            "Deletes the profile and the Cognito account and publishes `UserDeleted`; orders are "
            "kept. A retry answers 204 too, completing a half-finished deletion."
        ),
        success=Success(status=204, description="The account is gone"),
    ),
)
