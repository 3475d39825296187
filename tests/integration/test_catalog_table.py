"""The catalog's data access against the emulator's DynamoDB."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from libs.problems import Conflict, NotFound
from services.products import catalog_table
from services.products.models import Product

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration


def a_product(category: str) -> Product:
    product_id = uuid.uuid4().hex[:12]
    return Product(
        product_id=product_id,
        name=f"Thing {product_id}",
        description="",
        category=category,
        price=100,
        currency="EUR",
    )


async def test_a_category_pages_through_its_products(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    # Given seven products in a fresh category
    category = f"cat-{uuid.uuid4().hex[:8]}"
    products = [a_product(category) for _ in range(7)]
    for product in products:
        await catalog_table.create_product(dynamodb, table_name, product)
    # When it is read three at a time
    seen: list[str] = []
    cursor = None
    while True:
        page = await catalog_table.list_products(
            dynamodb, table_name, category=category, limit=3, cursor=cursor
        )
        seen += [p.product_id for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every product comes once
    assert sorted(seen) == sorted(p.product_id for p in products)


async def test_creating_a_taken_id_is_a_conflict(dynamodb: DynamoDBClient, table_name: str) -> None:
    product = a_product("office")
    await catalog_table.create_product(dynamodb, table_name, product)
    with pytest.raises(Conflict):
        await catalog_table.create_product(dynamodb, table_name, product)


async def test_replacing_moves_a_product_between_categories(
    dynamodb: DynamoDBClient, table_name: str
) -> None:
    product = a_product(f"old-{uuid.uuid4().hex[:6]}")
    await catalog_table.create_product(dynamodb, table_name, product)
    moved = Product(
        product_id=product.product_id,
        name=product.name,
        description=product.description,
        category=f"new-{uuid.uuid4().hex[:6]}",
        price=product.price,
        currency=product.currency,
    )
    await catalog_table.replace_product(dynamodb, table_name, moved)
    old = await catalog_table.list_products(
        dynamodb, table_name, category=product.category, limit=10, cursor=None
    )
    new = await catalog_table.list_products(
        dynamodb, table_name, category=moved.category, limit=10, cursor=None
    )
    assert old.items == []
    assert [p.product_id for p in new.items] == [product.product_id]


async def test_a_missing_product_is_not_found(dynamodb: DynamoDBClient, table_name: str) -> None:
    with pytest.raises(NotFound):
        await catalog_table.get_product(dynamodb, table_name, "absent")
    with pytest.raises(NotFound):
        await catalog_table.replace_product(dynamodb, table_name, a_product("office"))
