"""Products function: the catalog's HTTP routes."""

from __future__ import annotations

# First, so the garbage collector is held back while the modules below load.
from libs import init_phase  # noqa: F401  # isort: skip

import uuid

import msgspec
from aws_lambda_powertools.event_handler import Response

from libs.config import settings
from libs.field_types import ProductId
from libs.http_function import HttpFunction
from libs.json_api import decode_body, decode_query, json_response
from libs.problems import NotFound
from libs.resources.metrics import PRODUCTS_CREATED
from services.products import catalog_table
from services.products.models import ProductInput, ProductPage, ProductQuery

api = HttpFunction("products")
app = api.app


def _checked_product_id(product_id: str) -> str:
    # An id outside the declared pattern cannot exist (a traversal, a control character, or a
    # key over DynamoDB's size limit): 404 without reading the table.
    try:
        checked: str = msgspec.convert(product_id, ProductId)
    except msgspec.ValidationError:
        raise NotFound("No such product") from None
    return checked


@api.route("GET /products")
async def list_products() -> Response[str]:
    query = decode_query(app.current_event, ProductQuery)
    db = await api.clients.dynamodb()
    page = await catalog_table.list_products(
        db, settings().table_name, category=query.category, limit=query.limit, cursor=query.cursor
    )
    return json_response(200, ProductPage(items=page.items, next_cursor=page.next_cursor))


@api.route("GET /products/{productId}")
async def get_product(productId: str) -> Response[str]:
    product_id = _checked_product_id(productId)
    db = await api.clients.dynamodb()
    return json_response(
        200, await catalog_table.get_product(db, settings().table_name, product_id)
    )


@api.route("POST /products")
async def create_product() -> Response[str]:
    body = decode_body(app.current_event, ProductInput)
    product = body.as_product(uuid.uuid4().hex[:12])
    db = await api.clients.dynamodb()
    await catalog_table.create_product(db, settings().table_name, product)
    api.count(PRODUCTS_CREATED)
    return json_response(201, product, {"Location": f"/products/{product.product_id}"})


@api.route("PUT /products/{productId}")
async def replace_product(productId: str) -> Response[str]:
    product_id = _checked_product_id(productId)
    body = decode_body(app.current_event, ProductInput)
    product = body.as_product(product_id)
    db = await api.clients.dynamodb()
    await catalog_table.replace_product(db, settings().table_name, product)
    return json_response(200, product)


handler = api.handler
