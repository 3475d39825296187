"""Personal fields over HTTP: sealed at rest, and no KMS call once a container is warm."""

from __future__ import annotations

import asyncio
import json
import random
from typing import TYPE_CHECKING, Any

import pytest
import requests

from emulator.moto_operations import function_operations
from tests.accounts import SignedInUser
from tests.system_under_test import SystemUnderTest

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e

KMS_OPERATIONS = ("GenerateDataKey", "Decrypt", "Encrypt")


async def call(
    method: str, api_url: str, user: SignedInUser, body: Any = None
) -> requests.Response:
    return await asyncio.to_thread(
        requests.request, method, f"{api_url}/users/me", json=body, headers=user.headers, timeout=10
    )


def personal_values() -> dict[str, Any]:
    """A name, phone and address no other test uses, so a scan finding them found these."""
    tag = random.randrange(10**8, 10**9)
    return {
        "name": f"Grace Hopper {tag}",
        "phone": f"+35191{tag}",
        "address": {
            "line1": f"{tag} Rua Augusta",
            "city": "Lisbon",
            "postalCode": f"P{tag}",
            "country": "PT",
        },
    }


async def whole_table(db: DynamoDBClient, table: str) -> str:
    """Every item of the table as JSON text, as a raw Scan returns it."""
    items: list[Any] = []
    async for page in db.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return json.dumps(items)


@pytest.mark.smoke
async def test_a_raw_scan_after_a_profile_update_shows_no_phone_or_address(
    api_url: str, make_user: Any, dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given a user who saves a name, a phone and an address
    user: SignedInUser = await make_user()
    values = personal_values()
    saved = await call("PUT", api_url, user, {"version": 0, **values})
    assert saved.status_code == 200, saved.text
    # When the whole table is scanned, bypassing the API
    stored = await whole_table(dynamodb, table_name)
    # Then none of those values is in it, while the API still reads them back
    secrets = [values["name"], values["phone"], values["address"]["line1"]]
    secrets.append(values["address"]["postalCode"])
    assert [secret for secret in secrets if secret in stored] == []
    read = (await call("GET", api_url, user)).json()
    address = {**values["address"], "line2": None}
    assert {key: read[key] for key in values} == {**values, "address": address}


@pytest.mark.moto_in_process("counts the KMS calls functions make, in moto's process")
async def test_a_warm_users_function_makes_no_kms_call(
    api_url: str, make_user: Any, stack: SystemUnderTest
) -> None:
    # Given a users container that has saved and read a profile (its data key is cached)
    user: SignedInUser = await make_user()
    first = await call("PUT", api_url, user, {"version": 0, **personal_values()})
    assert first.status_code == 200, first.text
    assert (await call("GET", api_url, user)).status_code == 200
    before = function_operations(stack.endpoint_url)
    # When the same user updates and reads the profile again, one request after another
    for version in (1, 2, 3):
        update = await call("PUT", api_url, user, {"version": version, **personal_values()})
        assert update.status_code == 200, update.text
        assert (await call("GET", api_url, user)).status_code == 200
    # Then no request called KMS
    after = function_operations(stack.endpoint_url)
    assert {op: after[op] - before[op] for op in KMS_OPERATIONS} == dict.fromkeys(KMS_OPERATIONS, 0)
    # (and the cold one did: the counter sees these calls at all)
    assert after["GenerateDataKey"] > 0
