"""Products written before the catalog index existed are listed again after the backfill."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from libs.table_keys import GSI2PK, GSI2SK, as_key, product_key
from ops.catalog_backfill import add_catalog_keys
from services.products import catalog_table
from tests.integration.test_catalog_table import a_product

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration


async def whole_catalog(db: DynamoDBClient, table: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await catalog_table.list_products(db, table, category=None, limit=50, cursor=cursor)
        ids += [p.product_id for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


async def test_an_old_product_is_listed_after_the_backfill_and_a_rerun_changes_nothing(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given a product stored as before GSI2: without its catalog keys
    product = a_product("backfill")
    old = catalog_table.product_item(product)
    del old[GSI2PK], old[GSI2SK]
    await dynamodb.put_item(TableName=table_name, Item=old)
    assert product.product_id not in await whole_catalog(dynamodb, table_name)
    # When the backfill runs
    changed = await add_catalog_keys(dynamodb, table_name)
    # Then it changed that product, the whole catalog lists it, and the item is otherwise as it was
    assert changed == 1
    assert product.product_id in await whole_catalog(dynamodb, table_name)
    stored = await dynamodb.get_item(
        TableName=table_name, Key=as_key(product_key(product.product_id))
    )
    assert stored["Item"] == catalog_table.product_item(product)
    # And running it again finds nothing to do
    assert await add_catalog_keys(dynamodb, table_name) == 0
