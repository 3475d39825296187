"""The API's documentation on the local gateway: the OpenAPI document and Swagger UI, offline.

``GET /openapi.json`` is the OpenAPI 3.1 document generated from the code, its server set to
this gateway. ``GET /docs`` is Swagger UI, served from the ``swagger-ui-bundle`` package with no
CDN. That bundle is Swagger UI 4, which renders OpenAPI 3.0 only, so the page loads a 3.0 view of
the same document (``/docs/openapi-3.0.json``): nullable instead of a null type, enum for const.
Neither path needs a token; no API route may use them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import msgspec
from aiohttp import web
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from api_document.openapi import openapi_document
from libs.resources.api_routes import ROUTES, Route

DOCUMENT_PATH: Final = "/openapi.json"
DOCS_PATH: Final = "/docs"
SWAGGER_VIEW_PATH: Final = f"{DOCS_PATH}/openapi-3.0.json"
# The only bundle files the page loads; nothing else under /docs/ is served.
_ASSETS: Final = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# Everything from this origin: a page that tried to reach a CDN would be refused by the browser.
_CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
_PAGE: Final = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>serverless-blueprint API</title>
  <link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <p style="font-family: sans-serif; margin: 1em 2em">
    The OpenAPI 3.1 document: <a href="{DOCUMENT_PATH}">{DOCUMENT_PATH}</a>
  </p>
  <div id="swagger-ui"></div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/swagger-initializer.js"></script>
</body>
</html>
"""
# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
_INITIALIZER: Final = f"""window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "{SWAGGER_VIEW_PATH}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  }});
}};
"""

_DOCUMENTS: Final = web.AppKey("api_documents", dict[str, dict[str, Any]])


def add_api_docs(app: web.Application, routes: Iterable[Route] = ROUTES) -> None:
    """Serve the document and Swagger UI on ``app``, ahead of any catch-all route added later."""
    taken = [route.route_key for route in routes if not is_free(route.path)]
    if taken:
        raise ValueError(f"routes use the documentation's paths: {taken}")
    app[_DOCUMENTS] = {}
    app.router.add_get(DOCUMENT_PATH, _document)
    app.router.add_get(DOCS_PATH, _page)
    app.router.add_get(SWAGGER_VIEW_PATH, _swagger_view)
    app.router.add_get(f"{DOCS_PATH}/swagger-initializer.js", _initializer)
    app.router.add_get(DOCS_PATH + "/{asset}", _asset)


def is_free(path: str) -> bool:
    """Whether an API route may use ``path``: not the document's, nor under ``/docs``."""
    return path != DOCUMENT_PATH and path != DOCS_PATH and not path.startswith(DOCS_PATH + "/")


def swagger_view(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0 rendering of a 3.1 document that Swagger UI 4 can display."""
    view = copy.deepcopy(document)
    view["openapi"] = "3.0.3"
    rendered: dict[str, Any] = _as_openapi_30(view)
    return rendered


def _as_openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_as_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_openapi_30(value) for key, value in node.items()}
    if node.get("required") == []:  # 3.0 requires at least one name
        del node["required"]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    alternatives = node.get("anyOf")
    if isinstance(alternatives, list) and {"type": "null"} in alternatives:
        rest = [schema for schema in alternatives if schema != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            node["allOf"] = rest  # 3.0 ignores siblings of a $ref
        elif len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    return node


def _encoded(request: web.Request, name: str) -> bytes:
    """The document (or its 3.0 view, built once per app) with this gateway as its server."""
    documents = request.app[_DOCUMENTS]
    if not documents:
        documents["openapi"] = openapi_document()
        documents["swagger"] = swagger_view(documents["openapi"])
    origin = f"{request.scheme}://{request.host}"
    servers = [{"url": origin, "description": "This local gateway"}]
    return msgspec.json.encode({**documents[name], "servers": servers})


async def _document(request: web.Request) -> web.Response:
    return web.Response(
        body=_encoded(request, "openapi"),
        content_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


async def _swagger_view(request: web.Request) -> web.Response:
    return web.Response(
        body=_encoded(request, "swagger"),
        content_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


async def _page(_: web.Request) -> web.Response:
    return web.Response(
        text=_PAGE,
        content_type="text/html",
        headers={"Content-Security-Policy": _CONTENT_SECURITY_POLICY},
    )


async def _initializer(_: web.Request) -> web.Response:
    return web.Response(text=_INITIALIZER, content_type="text/javascript")


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["asset"]
    if name not in _ASSETS:  # the gateway's own 404, as for any path no route declares
        return web.json_response({"message": "Not Found"}, status=404)
    path = Path(str(swagger_ui_path)) / name
    return web.FileResponse(path, headers={"Content-Type": _ASSETS[name]})
