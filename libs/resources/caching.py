"""Which public answers may be kept by clients and by CloudFront, for how long, and by what key.

Declared once: the products function sends ``Cache-Control`` and ``ETag`` from it
(``libs/conditional_get.py``), the prod distribution caches the same routes keyed on the same
query parameters (``stacks/api.py``), and the OpenAPI document states it. Only public ``GET``
routes may be listed: a shared cache must never hold an answer that depends on who asked.
"""

from __future__ import annotations

import re

import msgspec

_PARAMETER = re.compile(r"\{\w+\}")


class CachePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How long a route's 200 answers stay fresh, and which query parameters change them."""

    routes: tuple[str, ...]  # route keys of libs/resources/api_routes.py, e.g. "GET /products"
    max_age_seconds: int  # fresh for this long: served without asking the origin
    # After that, a cache may serve the stale answer this long while it revalidates in the
    # background; an admin's change reaches every reader within the two together.
    stale_while_revalidate_seconds: int
    query_keys: tuple[str, ...]  # the query parameters that change the answer (the cache key)

    @property
    def cache_control(self) -> str:
        """The ``Cache-Control`` value of a cacheable answer (and of its 304)."""
        return (
            f"public, max-age={self.max_age_seconds}, "
            f"stale-while-revalidate={self.stale_while_revalidate_seconds}"
        )

    @property
    def path_patterns(self) -> tuple[str, ...]:
        """CloudFront path patterns of the routes: ``/products/{productId}`` → ``/products/*``."""
        paths = (key.split(" ", 1)[1] for key in self.routes)
        return tuple(dict.fromkeys(_PARAMETER.sub("*", path) for path in paths))


CATALOG_CACHE = CachePolicy(
    routes=("GET /products", "GET /products/{productId}"),
    max_age_seconds=60,
    stale_while_revalidate_seconds=60,
    query_keys=("category", "limit", "cursor"),
)

CACHE_POLICIES: tuple[CachePolicy, ...] = (CATALOG_CACHE,)


def cache_policy_of(route_key: str) -> CachePolicy | None:
    """The policy covering a route, e.g. ``GET /products``; None when its answers are not kept."""
    return next((policy for policy in CACHE_POLICIES if route_key in policy.routes), None)
