"""The product catalog's access to the single table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from libs.problems import Conflict, NotFound
from libs.single_table import Item, Page, from_item, query_page, to_item
from libs.table_keys import (
    CATALOG_PARTITION,
    GSI1,
    GSI1PK,
    GSI2,
    GSI2PK,
    PK,
    as_key,
    catalog_keys,
    category_keys,
    category_partition,
    product_key,
)
from services.products.models import Product

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


def product_item(product: Product) -> Item:
    """A product as a table item, with the keys that list it in its category and the catalog."""
    return to_item(
        product,
        **product_key(product.product_id),
        **category_keys(product.category, product.product_id),
        **catalog_keys(product.product_id),
        entity="Product",
    )


async def get_product(db: DynamoDBClient, table: str, product_id: str) -> Product:
    """One product (404 when absent)."""
    response = await db.get_item(TableName=table, Key=as_key(product_key(product_id)))
    if "Item" not in response:
        raise NotFound(f"No product {product_id}")
    return from_item(response["Item"], Product)


async def create_product(db: DynamoDBClient, table: str, product: Product) -> None:
    """Store a new product (409 when the id is taken)."""
    error = Conflict(f"Product {product.product_id} already exists")
    await _put_if(db, table, product, "attribute_not_exists(#pk)", error)


async def replace_product(db: DynamoDBClient, table: str, product: Product) -> None:
    """Replace an existing product (404 when absent)."""
    error = NotFound(f"No product {product.product_id}")
    await _put_if(db, table, product, "attribute_exists(#pk)", error)


async def _put_if(
    db: DynamoDBClient, table: str, product: Product, condition: str, error: Exception
) -> None:
    try:
        await db.put_item(
            TableName=table,
            Item=product_item(product),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#pk": PK},
        )
    except db.exceptions.ConditionalCheckFailedException:
        raise error from None


async def list_products(
    db: DynamoDBClient, table: str, *, category: str | None, limit: int, cursor: str | None
) -> Page[Product]:
    """A page of a category (GSI1) or of the whole catalog (GSI2), in product id order.

    Either way one Query of one index partition: the read is bounded by the page, not the table.
    """
    if category is not None:
        index, partition = GSI1.name, (GSI1PK, category_partition(category))
    else:
        index, partition = GSI2.name, (GSI2PK, CATALOG_PARTITION)
    page = await query_page(
        db, table=table, index=index, partition=partition, limit=limit, cursor=cursor
    )
    return Page(items=[from_item(i, Product) for i in page.items], next_cursor=page.next_cursor)
