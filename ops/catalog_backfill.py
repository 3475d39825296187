"""`uv run python -m ops.catalog_backfill [--aws [--env ENV]]`: list old products again.

``GET /products`` reads the sparse index GSI2, which holds only items with ``GSI2PK``. Products
written before that index existed lack it: this operator command (not a request path, so it may
scan) adds the keys to each product missing them, once; running it again changes nothing. The
table is the running `just dev`'s (``.local/outputs.json``), or with ``--aws`` the deployed
stage's (``.local/outputs-<env>.json``, from `just deploy`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from aiobotocore.session import get_session

from libs.stack_outputs import LOCAL_OUTPUTS, StackOutputs, stage_outputs
from libs.table_keys import (
    GSI2PK,
    GSI2SK,
    PK,
    PRODUCT_PREFIX,
    PRODUCT_SORT_KEY,
    SK,
    catalog_keys,
)
from ops.dlq import client_options

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


async def add_catalog_keys(db: DynamoDBClient, table: str) -> int:
    """Give every product without GSI2 keys its keys; how many it changed."""
    changed = 0
    pages = db.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(#pk, :product) AND #sk = :info AND attribute_not_exists(#g)",
        ProjectionExpression="#pk, #sk, productId",
        ExpressionAttributeNames={"#pk": PK, "#sk": SK, "#g": GSI2PK},
        ExpressionAttributeValues={
            ":product": {"S": PRODUCT_PREFIX},
            ":info": {"S": PRODUCT_SORT_KEY},
        },
    )
    async for page in pages:
        for item in page.get("Items", []):
            keys = catalog_keys(item["PK"]["S"].removeprefix(PRODUCT_PREFIX))
            try:
                await db.update_item(
                    TableName=table,
                    Key={PK: item["PK"], SK: item["SK"]},
                    UpdateExpression="SET #g = :partition, #s = :sort",
                    # Only a product still there: never recreate one deleted meanwhile.
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#g": GSI2PK, "#s": GSI2SK, "#pk": PK},
                    ExpressionAttributeValues={
                        ":partition": {"S": keys[GSI2PK]},
                        ":sort": {"S": keys[GSI2SK]},
                    },
                )
            except db.exceptions.ConditionalCheckFailedException:
                continue
            changed += 1
    return changed


async def main(argv: Sequence[str] | None = None) -> int:
    """Run the backfill against the local system or a deployed stage."""
    parser = argparse.ArgumentParser(prog="catalog_backfill", description=__doc__.split("\n")[0])
    parser.add_argument("--aws", action="store_true", help="use AWS, not the local emulator")
    parser.add_argument("--env", default="dev", help="with --aws: the deployed environment")
    parser.add_argument("--outputs", type=Path, default=LOCAL_OUTPUTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    outputs_path = stage_outputs(arguments.env) if arguments.aws else arguments.outputs
    if not outputs_path.exists():
        raise SystemExit(f"{outputs_path} not found: start `just dev`, or `just deploy` first")
    table = msgspec.json.decode(outputs_path.read_bytes(), type=StackOutputs).table_name
    async with get_session().create_client(
        "dynamodb", **client_options(arguments.aws, arguments.outputs)
    ) as db:
        changed = await add_catalog_keys(db, table)
    print(f"{changed} products of {table} given their catalog keys")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
