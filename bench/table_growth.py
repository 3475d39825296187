"""`uv run python -m bench.table_growth`: what one order adds to the table, in items and bytes.

Starts the local system on moto, places a real order (with an Idempotency-Key) through the local
gateway, has an admin confirm it, waits for the consumers, and sizes each item the two requests
added by DynamoDB's rules. Writes the Markdown table docs/data.md shows to
bench/results/table_growth.md (and prints it).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session

from emulator.backends import ClientOptions
from emulator.local_system import LocalSystem
from emulator.seed import seed_demo_data
from libs.resources.table import MAIN_TABLE
from libs.resources.user_pool import ADMIN_GROUP

# A throwaway user of a throwaway local system; satisfies the declared password policy.
PASSWORD = "Correct-Horse-7"  # noqa: S105
# DynamoDB stores ~100 bytes of indexing overhead per item, in the table and in each index.
ITEM_OVERHEAD = 100
WRITE_UNIT = 1024
RESULT = Path(__file__).resolve().parent / "results" / "table_growth.md"


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's rules (its name is counted by the caller)."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = content.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":  # 3 bytes, plus each element's name, value and 1 byte
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in content)
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    raise ValueError(f"no size rule for {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item: its attribute names and values (what write units are charged on)."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def indexes_of(item: Mapping[str, Any]) -> list[str]:
    """The declared indexes that hold a copy of ``item`` (it has their partition key)."""
    return [index.name for index in MAIN_TABLE.indexes if index.keys.partition in item]


async def table_items(db: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table by key (a tool reading a small local table, not a request)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    async for page in db.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            items[(item["PK"]["S"], item["SK"]["S"])] = item
    return items


def request(method: str, url: str, token: str, body: Any, **headers: str) -> dict[str, Any]:
    """One JSON request to the local gateway."""
    call = urllib.request.Request(  # noqa: S310 (a local http URL the stack reported)
        url,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"} | headers,
    )
    with urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


async def signed_in(cognito: Any, stack: LocalSystem, *groups: str) -> str:
    """An access token of a new confirmed user in ``groups``."""
    pool, client = stack.outputs.user_pool_id, stack.outputs.user_pool_client_id
    email = f"growth-{uuid.uuid4().hex[:8]}@example.com"
    await cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    await cognito.admin_set_user_password(
        UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True
    )
    for group in groups:
        await cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=group)
    tokens = await cognito.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    token: str = tokens["AuthenticationResult"]["AccessToken"]
    return token


async def added_by(
    db: Any, table: str, before: Mapping[tuple[str, str], Any], expected_kinds: int
) -> list[dict[str, Any]]:
    """The items added since ``before``, once ``expected_kinds`` kinds of them exist (≤ 30 s)."""
    added: list[dict[str, Any]] = []
    for _ in range(300):
        after = await table_items(db, table)
        added = [item for key, item in after.items() if key not in before]
        if len({item["entity"]["S"] for item in added}) >= expected_kinds:
            await asyncio.sleep(1)  # let stragglers land
            after = await table_items(db, table)
            return [item for key, item in after.items() if key not in before]
        await asyncio.sleep(0.1)
    return added


def rows(step: str, items: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: one per item ``step`` wrote (every write here is part of a transaction)."""
    lines = []
    for item in sorted(items, key=lambda i: i["entity"]["S"]):
        entity = item["entity"]["S"]
        size = item_size(item)
        indexes = indexes_of(item)
        # A transactional write costs 2 units per KB started; each index holding the item is
        # written too, at 1 unit per KB started.
        units = math.ceil(size / WRITE_UNIT) * (2 + len(indexes))
        stored = (size + ITEM_OVERHEAD) * (1 + len(indexes))
        lifetime = MAIN_TABLE.lifetime(entity).ttl_seconds
        kept = "kept" if lifetime is None else f"{lifetime // 86400} d"
        lines.append(
            f"| {step} | {entity} | {size} | {', '.join(indexes) or '-'} | {units} "
            f"| {stored} | {kept} |"
        )
    return lines


async def measure(stack: LocalSystem) -> str:
    """The Markdown table of what placing and confirming one order adds."""
    options: ClientOptions = {
        "endpoint_url": stack.endpoint_url,
        "region_name": stack.outputs.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    session = get_session()
    table = stack.outputs.table_name
    async with (
        session.create_client("dynamodb", **options) as db,
        session.create_client("cognito-idp", **options) as cognito,
    ):
        shopper = await signed_in(cognito, stack)
        admin = await signed_in(cognito, stack, ADMIN_GROUP)
        before = await table_items(db, table)
        body = {
            "items": [
                {"productId": "desk-lamp", "quantity": 2},
                {"productId": "usb-c-hub", "quantity": 1},
            ]
        }
        order = await asyncio.to_thread(
            request,
            "POST",
            f"{stack.api_url}/orders",
            shopper,
            body,
            **{"Idempotency-Key": str(uuid.uuid4())},
        )
        # Order, idempotency record, outbox item; then the consumer's marker and notification.
        placed = await added_by(db, table, before, 5)
        between = await table_items(db, table)
        await asyncio.to_thread(
            request,
            "PATCH",
            f"{stack.api_url}/orders/{order['orderId']}",
            admin,
            {"status": "CONFIRMED"},
        )
        # Outbox item; marker and notification (the order itself is updated in place).
        confirmed = await added_by(db, table, between, 3)
        changed = (await table_items(db, table))[(f"ORDER#{order['orderId']}", "DETAILS")]
    lines = [
        "| request | item | bytes | indexes | write units | stored bytes | lifetime |",
        "|---|---|---|---|---|---|---|",
        *rows("POST /orders", placed),
        *rows("PATCH /orders/{id}", [changed]),
        *rows("PATCH /orders/{id}", confirmed),
    ]
    totals = []
    for step, items in (("POST /orders", placed), ("PATCH /orders/{id}", confirmed)):
        total = sum(item_size(i) for i in items)
        stored = sum((item_size(i) + ITEM_OVERHEAD) * (1 + len(indexes_of(i))) for i in items)
        totals.append(f"{step}: {len(items)} new items, {total} bytes, {stored} bytes stored")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {t}" for t in totals) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        stack = LocalSystem(
            backend="moto",
            port=0,
            outputs_path=Path(directory) / "outputs.json",
            seed=seed_demo_data,
        )
        with stack:
            table = asyncio.run(measure(stack))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
