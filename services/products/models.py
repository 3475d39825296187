"""Wire and stored shapes of the product catalog."""

from __future__ import annotations

from typing import Annotated

import msgspec

from libs import json_patterns
from libs.field_types import Currency, MinorUnits
from libs.single_table import PageQuery

Category = Annotated[str, msgspec.Meta(pattern=json_patterns.CATEGORY)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


class Product(msgspec.Struct, rename="camel", kw_only=True):
    """A catalog product, as stored and as returned."""

    product_id: str
    name: str
    description: str
    category: str
    price: int
    currency: str


class ProductInput(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """The body of POST /products and PUT /products/{productId}."""

    name: Name
    category: Category
    price: MinorUnits
    currency: Currency
    description: Description = ""

    def as_product(self, product_id: str) -> Product:
        """The product this input describes."""
        return Product(
            product_id=product_id,
            name=self.name,
            description=self.description,
            category=self.category,
            price=self.price,
            currency=self.currency,
        )


class ProductQuery(PageQuery, forbid_unknown_fields=True):
    """The query string of GET /products."""

    category: Category | None = None


class ProductPage(msgspec.Struct, rename="camel"):
    """A page of products."""

    items: list[Product]
    next_cursor: str | None
