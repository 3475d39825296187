"""The products routes' contracts: what each takes and answers (for the OpenAPI document)."""

from __future__ import annotations

from libs.api_contract import Header, Link, RouteContract, Success
from libs.field_types import ProductId
from libs.problems import Conflict, NotFound
from services.products.models import Product, ProductInput, ProductPage, ProductQuery

_HUB = Product(
    product_id="usb-c-hub",
    name="USB-C hub",
    description="Seven ports, 100 W passthrough.",
    category="electronics",
    price=3450,
    currency="EUR",
)
_NEW = ProductInput(
    name="Travel adapter",
    category="electronics",
    price=2490,
    currency="EUR",
    description="Four plugs, two USB-C ports.",
)
_PAGE_NOTES = {
    "limit": "Products per page.",
    "cursor": "The `nextCursor` of the previous page; absent for the first page.",
}

CONTRACTS = (
    RouteContract(
        route="GET /products",
        operation_id="listProducts",
        query=ProductQuery,
        notes={"category": "Only this category (served from the GSI1 index)."} | _PAGE_NOTES,
        success=Success(
            status=200,
            description="A page of products",
            body=ProductPage,
            example=ProductPage(items=[_HUB], next_cursor=None),
        ),
    ),
    RouteContract(
        route="GET /products/{productId}",
        operation_id="getProduct",
        parameters={"productId": ProductId},
        problems=(NotFound,),
        success=Success(status=200, description="The product", body=Product, example=_HUB),
    ),
    RouteContract(
        route="POST /products",
        operation_id="createProduct",
        body=ProductInput,
        body_example=_NEW,
        problems=(Conflict,),
        success=Success(
            status=201,
            description="Created; the id is generated",
            body=Product,
            example=_NEW.as_product("3f9c2a7b1d04"),
            headers=(Header(name="Location", description="The new product's path"),),
            links=(
                Link(
                    name="GetProduct",
                    operation_id="getProduct",
                    description="Read the new product",
                    parameters={"productId": "$response.body#/productId"},
                ),
                Link(
                    name="ReplaceProduct",
                    operation_id="replaceProduct",
                    description="Replace the new product",
                    parameters={"productId": "$response.body#/productId"},
                ),
            ),
        ),
    ),
    RouteContract(
        route="PUT /products/{productId}",
        operation_id="replaceProduct",
        parameters={"productId": ProductId},
        body=ProductInput,
        body_example=ProductInput(
            name=_HUB.name,
            category=_HUB.category,
            price=_HUB.price,
            currency=_HUB.currency,
            description=_HUB.description,
        ),
        problems=(NotFound,),
        success=Success(
            status=200, description="The product as replaced", body=Product, example=_HUB
        ),
    ),
)
