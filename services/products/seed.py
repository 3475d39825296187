"""A small demo catalog (12 products in 3 categories) that the emulator loads on start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.products.catalog_table import product_item
from services.products.models import Product

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import WriteRequestUnionTypeDef


def _product(product_id: str, name: str, category: str, price: int, description: str) -> Product:
    return Product(
        product_id=product_id,
        name=name,
        description=description,
        category=category,
        price=price,
        currency="EUR",
    )


CATALOG: tuple[Product, ...] = (
    _product("mechanical-keyboard", "Mechanical keyboard", "electronics", 8900, "Tactile."),
    _product("usb-c-hub", "USB-C hub", "electronics", 3450, "Seven ports, 100 W passthrough."),
    _product("noise-cancelling-headphones", "Headphones", "electronics", 19900, "Over-ear, ANC."),
    _product("webcam-4k", "4K webcam", "electronics", 12900, "Autofocus, two microphones."),
    _product("serverless-patterns", "Serverless Patterns", "books", 3990, "Design at scale."),
    _product("python-concurrency", "Python Concurrency", "books", 4490, "asyncio in depth."),
    _product("dynamodb-book", "The DynamoDB Book", "books", 7900, "Single-table design."),
    _product("site-reliability", "Site Reliability", "books", 4200, "Running production."),
    _product("standing-desk", "Standing desk", "office", 49900, "Electric, 160 x 80 cm."),
    _product("ergonomic-chair", "Ergonomic chair", "office", 39900, "Adjustable lumbar support."),
    _product("desk-lamp", "Desk lamp", "office", 5900, "Dimmable, warm to cool."),
    _product("notebook-a5", "A5 notebook", "office", 1290, "Dotted, 160 pages."),
)


async def seed_catalog(db: DynamoDBClient, table: str) -> None:
    """Write the demo catalog (overwriting products of the same ids)."""
    for start in range(0, len(CATALOG), 25):
        requests: list[WriteRequestUnionTypeDef] = [
            {"PutRequest": {"Item": product_item(p)}} for p in CATALOG[start : start + 25]
        ]
        pending: Mapping[str, Sequence[WriteRequestUnionTypeDef]] = {table: requests}
        while pending:  # BatchWriteItem may leave items unprocessed under load
            response = await db.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
