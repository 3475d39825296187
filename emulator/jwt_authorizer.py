"""API Gateway HTTP API's native JWT authorizer: the checks it makes and the claims it passes on."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Final

import aiohttp
import jwt

Jwks = Mapping[str, Any]
JwksFetcher = Callable[[], Awaitable[Jwks]]

# API Gateway accepts only RS256 from a JWKS; anything else (none, HS256, ES256...) is refused.
ALGORITHM: Final = "RS256"
# Seconds of clock skew tolerated on exp, nbf and iat: none, as the emulator and the token issuer
# share this machine's clock.
LEEWAY_SECONDS: Final = 0
# An unknown kid triggers a JWKS refetch at most this often, so forged kids cannot flood the issuer.
REFETCH_INTERVAL_SECONDS: Final = 60.0


class Unauthorized(Exception):
    """The request's token is missing or invalid; the gateway answers 401."""


class JwtAuthorizer:
    """Verifies bearer tokens against one issuer and its audiences, caching the issuer's keys."""

    def __init__(self, issuer: str, audiences: Collection[str], fetch_jwks: JwksFetcher) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self._fetch_jwks = fetch_jwks
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    async def authorize(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of the token in an ``Authorization`` header value."""
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"malformed token: {error}") from error
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        key = await self._key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss"], "verify_aud": False},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthorized(str(error)) from error
        self._check_audience(claims)
        return claims

    async def refresh(self) -> None:
        """Fetch the issuer's signing keys now (the gateway does it once before serving)."""
        keys = _signing_keys(await self._fetch_jwks())
        self._keys, self._fetched_at = keys, time.monotonic()

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        # API Gateway reads client_id (Cognito access tokens) only when aud (id tokens) is absent.
        if "aud" in claims:
            audience = claims["aud"]
            presented = audience if isinstance(audience, list) else [audience]
        else:
            presented = [claims.get("client_id")]
        if not self.audiences.intersection(a for a in presented if isinstance(a, str)):
            raise Unauthorized("the token's audience is not allowed")

    async def _key(self, kid: object) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise Unauthorized("the token has no kid")
        stale = time.monotonic() - self._fetched_at >= REFETCH_INTERVAL_SECONDS
        if kid not in self._keys and stale:
            # Keys rotate: an unknown kid is the signal to look again, once per interval.
            try:
                await self.refresh()
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                raise Unauthorized(f"the issuer's JWKS is unavailable: {error!r}") from error
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthorized(f"kid {kid!r} is not in the issuer's JWKS") from None


def cognito_authorizer(
    endpoint_url: str, region: str, user_pool_id: str, client_id: str
) -> JwtAuthorizer:
    """The authorizer of the HTTP API's protected routes for the emulated user pool."""
    # Tokens name the real AWS issuer, while the emulator serves the pool's keys itself.
    return JwtAuthorizer(
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
        audiences=[client_id],
        fetch_jwks=http_jwks(f"{endpoint_url.rstrip('/')}/{user_pool_id}/.well-known/jwks.json"),
    )


def http_jwks(url: str) -> JwksFetcher:
    """A fetcher of the JWKS document at ``url``."""

    async def fetch() -> Jwks:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            response.raise_for_status()
            document: Jwks = json.loads(await response.read())
            return document

    return fetch


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """Claims as payload 2.0's ``authorizer.jwt`` holds them: every value a string, plus scopes."""
    scope = claims.get("scope")
    return {
        "claims": {name: _claim_string(value) for name, value in claims.items()},
        "scopes": scope.split() if isinstance(scope, str) and scope else None,
    }


def _bearer_token(authorization: str | None) -> str:
    value = (authorization or "").strip()
    # API Gateway takes the header's value as the token, with or without the Bearer scheme.
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise Unauthorized("no token")
    return value


def _signing_keys(jwks: Jwks) -> dict[str, jwt.PyJWK]:
    keys = {}
    for entry in jwks.get("keys", []):
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK.from_dict(entry, algorithm=ALGORITHM)
        except jwt.PyJWKError:
            continue  # one unusable key must not hide the others
    return keys


def _claim_string(value: Any) -> str:
    # API Gateway formats claims the way Go prints values: lists as "[a b]", booleans lower case.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + " ".join(_claim_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_claim_string(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)
