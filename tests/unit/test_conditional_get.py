"""ETags and If-None-Match (RFC 9110 §13.1.2, weak comparison), and the cache declaration."""

from __future__ import annotations

import pytest

from libs.conditional_get import (
    cacheable_json_response,
    entity_tag,
    none_match_fails,
    opaque_tags,
)
from libs.resources.api_routes import ROUTES
from libs.resources.caching import CACHE_POLICIES, CATALOG_CACHE, CachePolicy, cache_policy_of
from services.products.models import ProductQuery

ETAG = '"abc123"'


def test_the_etag_is_a_quoted_hash_that_changes_with_any_byte() -> None:
    assert entity_tag(b'{"price":1999}') == entity_tag(b'{"price":1999}')
    assert entity_tag(b'{"price":1999}') != entity_tag(b'{"price":2499}')
    assert entity_tag(b"").startswith('"')
    assert entity_tag(b"").endswith('"')


@pytest.mark.parametrize(
    "if_none_match",
    [
        ETAG,
        f"W/{ETAG}",  # weak comparison: a cache that compressed the body weakened the tag
        f'"other", {ETAG}',
        f'W/"other",W/{ETAG}',
        f"  {ETAG}  ",
        f", ,{ETAG},",  # empty list members are allowed
        "*",
        " * ",
    ],
)
def test_if_none_match_naming_the_current_tag_fails_the_condition(if_none_match: str) -> None:
    assert none_match_fails(if_none_match, ETAG)


@pytest.mark.parametrize(
    "if_none_match",
    [
        None,
        "",
        '"abc12"',
        '"ABC123"',  # opaque tags compare byte for byte
        'W/"other"',
        "abc123",  # unquoted: malformed, ignored
        f'{ETAG} "other"',  # no comma between members: malformed, ignored
        f"*, {ETAG}",  # `*` stands alone
        f'"a b", {ETAG}',  # a space is no etagc: malformed, ignored
    ],
)
def test_if_none_match_not_naming_the_tag_or_malformed_lets_the_full_answer_through(
    if_none_match: str | None,
) -> None:
    assert not none_match_fails(if_none_match, ETAG)


def test_a_tag_may_hold_a_comma_and_the_list_is_read_in_order() -> None:
    assert opaque_tags('"a,b", W/"c"') == ("a,b", "c")
    assert opaque_tags('"a" "b"') is None


def test_a_matching_request_gets_a_304_without_a_body_and_with_the_200s_headers() -> None:
    # Given the full answer a client received
    full = cacheable_json_response({}, {"items": []}, CATALOG_CACHE)
    assert full.status_code == 200
    assert full.headers["Content-Type"] == "application/json"
    assert full.headers["Cache-Control"] == CATALOG_CACHE.cache_control
    etag = full.headers["ETag"]
    assert isinstance(etag, str)
    # When it asks again with the tag
    again = cacheable_json_response({"if-none-match": etag}, {"items": []}, CATALOG_CACHE)
    # Then it is a 304 with the same validators and no body (and so no content type)
    assert again.status_code == 304
    assert again.body == ""
    assert again.headers == {"ETag": etag, "Cache-Control": CATALOG_CACHE.cache_control}


def test_the_cache_control_value_states_the_declared_durations() -> None:
    policy = CachePolicy(
        routes=("GET /x",), max_age_seconds=5, stale_while_revalidate_seconds=7, query_keys=()
    )
    assert policy.cache_control == "public, max-age=5, stale-while-revalidate=7"


def test_only_public_get_routes_are_declared_cacheable() -> None:
    # A shared cache must never hold an answer that depends on who asked.
    by_key = {route.route_key: route for route in ROUTES}
    for policy in CACHE_POLICIES:
        for key in policy.routes:
            assert key in by_key, key
            assert by_key[key].method == "GET", key
            assert by_key[key].auth == "none", key
            assert cache_policy_of(key) is policy
    assert cache_policy_of("GET /orders") is None
    assert cache_policy_of("PUT /products/{productId}") is None


def test_the_catalog_cache_key_is_every_query_parameter_the_list_reads() -> None:
    # A parameter left out of the key would serve one query's answer to another.
    assert set(CATALOG_CACHE.query_keys) == set(ProductQuery.__struct_fields__)


def test_the_catalog_paths_as_cloudfront_patterns() -> None:
    assert CATALOG_CACHE.path_patterns == ("/products", "/products/*")
