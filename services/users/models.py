"""Wire and stored shapes of user profiles."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from libs import json_patterns

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
Phone = Annotated[str, msgspec.Meta(pattern=json_patterns.PHONE)]
Line = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Address(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A postal address; the profile's ``name`` is the addressee."""

    line1: Line
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern=json_patterns.COUNTRY)]  # ISO 3166-1 alpha-2
    line2: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Preferences(msgspec.Struct, rename="camel", kw_only=True):
    """Which channels the user accepts notifications on."""

    email: bool = True
    sms: bool = False


class PreferenceChanges(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The notification flags a request sets; an absent flag keeps its stored value."""

    email: bool | UnsetType = UNSET
    sms: bool | UnsetType = UNSET


class UpdateProfile(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The body of PUT /users/me: absent fields are kept, ``null`` clears one.

    ``version`` is the one the client read (0 when it has no profile yet); a stale one is a 409.
    """

    # Bounded: DynamoDB numbers hold 38 digits, and JSON clients read integers exactly to 2**53.
    version: Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
    name: Name | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    address: Address | UnsetType | None = UNSET  # replaced as a whole, never merged line by line
    preferences: PreferenceChanges | UnsetType = UNSET


class StoredProfile(msgspec.Struct, rename="camel", kw_only=True):
    """The ``USER#<id> / PROFILE`` item: what the user chose, beyond their Cognito attributes."""

    user_id: str
    preferences: Preferences
    created_at: str
    updated_at: str
    version: int
    name: str | None = None
    phone: str | None = None
    address: Address | None = None


class Account(msgspec.Struct, kw_only=True, frozen=True):
    """What Cognito knows of a user."""

    user_id: str
    email: str
    email_verified: bool
    name: str | None


class Profile(msgspec.Struct, rename="camel", kw_only=True):
    """The answer of GET and PUT /users/me: the Cognito account merged with the stored profile.

    The defaults are what a user who never saved a profile sees.
    """

    user_id: str
    email: str
    email_verified: bool
    name: str | None
    phone: str | None = None
    address: Address | None = None
    preferences: Preferences = msgspec.field(default_factory=Preferences)
    created_at: str | None = None
    updated_at: str | None = None
    version: int = 0
