"""Protected routes are guarded like API Gateway's JWT authorizer: hostile tokens get 401."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from emulator.local_system import LocalSystem
from tests.accounts import SignedInUser

UNAUTHORIZED = {"message": "Unauthorized"}


def pool_key() -> Any:
    """The emulator's own signing key: lets a test mint tokens the pool would have signed."""
    return jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def mint(claims: dict[str, Any], key: Any = None, **header: Any) -> str:
    return jwt.encode(
        claims, key or pool_key(), algorithm="RS256", headers={"kid": "dummy"} | header
    )


def get_orders(api_url: str, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(f"{api_url}/orders", headers=headers, timeout=10)


@pytest.mark.smoke
def test_a_genuine_access_token_is_accepted(api_url: str, alice: SignedInUser) -> None:
    assert get_orders(api_url, f"Bearer {alice.access_token}").status_code == 200


@pytest.mark.moto("signs with the private key of moto's user pools")
def test_a_token_minted_with_the_pool_key_and_valid_claims_is_accepted(
    api_url: str, alice: SignedInUser
) -> None:
    # Proves the forging below is faithful: only the one broken claim makes the difference.
    assert get_orders(api_url, f"Bearer {mint(claims_of(alice.access_token))}").status_code == 200


def hostile_tokens(user: SignedInUser, stack: LocalSystem) -> dict[str, str]:
    claims = claims_of(user.access_token)
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header, payload, signature = user.access_token.split(".")
    tampered = dict(claims, sub="someone-else")
    tampered_payload = base64.urlsafe_b64encode(json.dumps(tampered).encode()).decode().rstrip("=")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"dummy"}').decode().rstrip("=")
    return {
        "expired": mint(claims | {"iat": now - 7200, "exp": now - 3600}),
        "not yet valid": mint(claims | {"nbf": now + 3600}),
        "issued in the future": mint(claims | {"iat": now + 3600, "exp": now + 7200}),
        "signed by another key": mint(claims, other_key),
        "unknown kid": mint(claims, kid="not-a-pool-key"),
        "alg none": f"{none_header}.{payload}.",
        "payload tampered": f"{header}.{tampered_payload}.{signature}",
        "wrong issuer": mint(claims | {"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"}),
        "wrong client": mint(claims | {"client_id": "another-app-client"}),
        "no audience at all": mint({k: v for k, v in claims.items() if k != "client_id"}),
        "garbage": "not-a-jwt",
        "empty": "",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "not yet valid",
        "issued in the future",
        "signed by another key",
        "unknown kid",
        "alg none",
        "payload tampered",
        "wrong issuer",
        "wrong client",
        "no audience at all",
        "garbage",
        "empty",
    ],
)
def test_a_hostile_token_is_refused_before_the_function(
    api_url: str, stack: LocalSystem, alice: SignedInUser, kind: str
) -> None:
    token = hostile_tokens(alice, stack)[kind]
    response = get_orders(api_url, f"Bearer {token}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    # The function never ran: its responses always carry a correlation id
    assert "x-correlation-id" not in response.headers


@pytest.mark.smoke
def test_a_missing_authorization_header_is_refused(api_url: str) -> None:
    response = get_orders(api_url, None)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.smoke
def test_public_routes_need_no_token(api_url: str) -> None:
    assert get_orders(api_url, None).status_code == 401
    assert requests.get(f"{api_url}/products", timeout=10).status_code == 200


def test_an_unknown_path_is_api_gateways_404(api_url: str) -> None:
    response = requests.get(f"{api_url}/no/such/route", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_a_token_without_the_bearer_prefix_is_accepted_as_api_gateway_does(
    api_url: str, alice: SignedInUser
) -> None:
    # API Gateway's JWT authorizer takes the identity source as the token, "Bearer " optional.
    assert get_orders(api_url, alice.access_token).status_code == 200


def test_an_id_token_is_accepted_through_its_audience(api_url: str, alice: SignedInUser) -> None:
    # The authorizer matches `aud` (id tokens) or `client_id` (access tokens) to the app client.
    assert get_orders(api_url, f"Bearer {alice.id_token}").status_code == 200
