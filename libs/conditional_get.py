"""Cacheable JSON answers: an ETag of the body, the declared Cache-Control, 304 on If-None-Match.

The ETag is a hash of the exact bytes sent, so any change to what a route answers (an admin's
write included) changes it, and no version needs keeping. ``If-None-Match`` is compared the weak
way (RFC 9110 §13.1.2): CloudFront turns a strong ETag weak when it compresses the body, and a
client revalidating with that ``W/"..."`` form holds the same bytes before compression.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec
from aws_lambda_powertools.event_handler import Response

from libs.json_api import JSON_CONTENT_TYPE
from libs.resources.caching import CachePolicy

NOT_MODIFIED: Final = 304
# One member of the list: an optional W/ and a quoted opaque tag (etagc: 0x21, 0x23-0x7E and
# anything above 0x7F), preceded by the separators and optional whitespace of a list.
_MEMBER: Final = re.compile(r'[ \t,]*(W/)?"([\x21\x23-\x7e\x80-\U0010ffff]*)"[ \t]*')


def entity_tag(body: bytes) -> str:
    """A strong ETag of exactly these bytes, e.g. ``"5d41402abc4b2a76b9719d911017c592"``."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def opaque_tags(if_none_match: str) -> tuple[str, ...] | None:
    """The opaque tags an ``If-None-Match`` value lists (W/ dropped); None when it is malformed."""
    tags: list[str] = []
    position = 0
    while position < len(if_none_match):
        member = _MEMBER.match(if_none_match, position)
        if member is None:
            # Trailing separators and whitespace are an empty list member, which is allowed.
            return tuple(tags) if not if_none_match[position:].strip(" \t,") else None
        tags.append(member[2])
        position = member.end()
        if position < len(if_none_match) and if_none_match[position] != ",":
            return None  # two tags with no comma between them
    return tuple(tags)


def none_match_fails(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names the current ``etag`` (or is ``*``): then answer 304.

    A malformed value is ignored, as if absent: the full answer is always a safe reply.
    """
    if if_none_match is None:
        return False
    if if_none_match.strip(" \t") == "*":
        return True
    tags = opaque_tags(if_none_match)
    return tags is not None and etag.removeprefix("W/").strip('"') in tags


def cacheable_json_response(
    request_headers: Mapping[str, str], payload: Any, policy: CachePolicy
) -> Response[str]:
    """200 with the JSON body, its ETag and the policy's Cache-Control; or 304 without a body
    when the request's ``If-None-Match`` names that ETag."""
    body = msgspec.json.encode(payload)
    etag = entity_tag(body)
    # A 304 carries the headers the 200 would have (RFC 9110 §15.4.5), so caches refresh them.
    headers = {"ETag": etag, "Cache-Control": policy.cache_control}
    if none_match_fails(request_headers.get("if-none-match"), etag):
        return Response(status_code=NOT_MODIFIED, body="", headers=headers)
    return Response(
        status_code=200, content_type=JSON_CONTENT_TYPE, body=body.decode(), headers=headers
    )
