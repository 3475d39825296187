"""The local JWT authorizer accepts and rejects tokens as API Gateway's native JWT authorizer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable

import jwt
import pytest

from emulator.jwt_authorizer import Unauthorized, gateway_claims
from tests.emulator.jwt_signing import CLIENT_ID, Issuer, access_claims, id_claims


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


async def test_valid_access_token_is_accepted_by_its_client_id(issuer: Issuer) -> None:
    # Given an access token (client_id, no aud) from the pool's issuer
    token = issuer.token(access_claims())
    # When the authorizer checks it as a bearer token
    claims = await issuer.authorizer().authorize(f"Bearer {token}")
    # Then its verified claims come back
    assert claims["client_id"] == CLIENT_ID
    assert claims["cognito:groups"] == ["admin", "ops"]


async def test_valid_id_token_is_accepted_by_its_audience(issuer: Issuer) -> None:
    token = issuer.token(id_claims())
    claims = await issuer.authorizer().authorize(f"Bearer {token}")
    assert claims["aud"] == CLIENT_ID
    assert claims["email"] == "user@example.com"


async def test_scheme_is_case_insensitive_and_optional(issuer: Issuer) -> None:
    token = issuer.token(access_claims())
    authorizer = issuer.authorizer()
    assert (await authorizer.authorize(f"bearer {token}"))["sub"] == "user-1"
    assert (await authorizer.authorize(token))["sub"] == "user-1"


async def test_jwks_is_fetched_once_for_many_tokens() -> None:
    # Given a fresh issuer and authorizer
    issuer = Issuer()
    authorizer = issuer.authorizer()
    # When several tokens are verified
    for _ in range(5):
        await authorizer.authorize(f"Bearer {issuer.token(access_claims())}")
    # Then the keys were fetched once and reused
    assert issuer.fetches == 1


def _forged(token: str, **changes: object) -> str:
    """``token`` with its payload changed and its original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    encoded = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).rstrip(b"=")
    return f"{header}.{encoded.decode()}.{signature}"


def _hs256_with_public_key(issuer: Issuer) -> str:
    # The classic key-confusion attack: HMAC "signed" with the issuer's public key as secret.
    public_jwk = json.dumps(issuer.jwks["keys"][0]).encode()
    header = {"alg": "HS256", "kid": issuer.kid, "typ": "JWT"}
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
        for part in (header, access_claims())
    ]
    signing_input = b".".join(segments)
    mac = hmac.new(public_jwk, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def _unsigned(claims: dict[str, object]) -> str:
    # PyJWT takes "" for "no key" with the "none" algorithm.
    return jwt.encode(claims, key="", algorithm="none", headers={"kid": "test-key"})


def _now() -> int:
    return int(time.time())


# Each case: how to make the token, and a fragment of the reason it must be rejected for.
REJECTED: dict[str, tuple[Callable[[Issuer], str], str]] = {
    "expired": (
        lambda issuer: issuer.token(access_claims(iat=_now() - 3600, exp=_now() - 1)),
        "expired",
    ),
    "not yet valid (nbf)": (
        lambda issuer: issuer.token(access_claims(nbf=_now() + 60)),
        "(nbf)",
    ),
    "issued in the future": (
        lambda issuer: issuer.token(access_claims(iat=_now() + 60)),
        "(iat)",
    ),
    "without iat": (
        lambda issuer: issuer.token({k: v for k, v in access_claims().items() if k != "iat"}),
        '"iat"',
    ),
    "signed by another key": (
        lambda issuer: Issuer(kid=issuer.kid).token(access_claims()),
        "Signature verification failed",
    ),
    "unknown kid": (
        lambda issuer: issuer.token(access_claims(), kid="rotated-away"),
        "not in the issuer's JWKS",
    ),
    "alg none": (lambda issuer: _unsigned(access_claims()), "'none' is not RS256"),
    "HS256 with the public key as secret": (_hs256_with_public_key, "'HS256' is not RS256"),
    "tampered payload": (
        lambda issuer: _forged(
            issuer.token(access_claims()), **{"cognito:groups": ["admin", "root"]}
        ),
        "Signature verification failed",
    ),
    "wrong issuer": (
        lambda issuer: issuer.token(
            access_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")
        ),
        "Invalid issuer",
    ),
    "wrong client_id": (
        lambda issuer: issuer.token(access_claims(client_id="another-client")),
        "audience",
    ),
    "wrong aud": (lambda issuer: issuer.token(id_claims(aud="another-client")), "audience"),
    # API Gateway reads aud when present, so a matching client_id cannot rescue a wrong aud.
    "wrong aud with right client_id": (
        lambda issuer: issuer.token(id_claims(aud="another-client", client_id=CLIENT_ID)),
        "audience",
    ),
    "neither aud nor client_id": (
        lambda issuer: issuer.token({k: v for k, v in access_claims().items() if k != "client_id"}),
        "audience",
    ),
    "garbage": (lambda issuer: "not-a-jwt", "malformed"),
    "three garbage segments": (lambda issuer: "abc.def.ghi", "malformed"),
}


@pytest.mark.parametrize("case", REJECTED)
async def test_invalid_token_is_rejected(issuer: Issuer, case: str) -> None:
    # Given a token that API Gateway would refuse
    make_token, reason = REJECTED[case]
    token = make_token(issuer)
    # When the authorizer checks it, Then it raises Unauthorized, for that reason
    with pytest.raises(Unauthorized, match=re.escape(reason)):
        await issuer.authorizer().authorize(f"Bearer {token}")


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer ", "bearer   "])
async def test_missing_or_empty_token_is_rejected(issuer: Issuer, header: str | None) -> None:
    with pytest.raises(Unauthorized):
        await issuer.authorizer().authorize(header)


def test_claims_become_strings_as_payload_2_0_carries_them() -> None:
    # Given verified claims with a list, numbers, a boolean and a scope
    claims = {
        "sub": "user-1",
        "cognito:groups": ["admin", "ops"],
        "exp": 1700000900,
        "auth_time": 1700000000.0,
        "email_verified": True,
        "scope": "orders/read orders/write",
    }
    # When they are converted for requestContext.authorizer.jwt
    converted = gateway_claims(claims)
    # Then every claim is a string, lists bracketed and space-separated, and scopes are split
    assert converted["claims"] == {
        "sub": "user-1",
        "cognito:groups": "[admin ops]",
        "exp": "1700000900",
        "auth_time": "1700000000",
        "email_verified": "true",
        "scope": "orders/read orders/write",
    }
    assert converted["scopes"] == ["orders/read", "orders/write"]


def test_scopes_are_none_without_a_scope_claim() -> None:
    assert gateway_claims({"sub": "user-1", "cognito:groups": ["admin"]}) == {
        "claims": {"sub": "user-1", "cognito:groups": "[admin]"},
        "scopes": None,
    }
