"""An issuer for the tests: an RSA key, its JWKS, and Cognito-shaped tokens signed with it."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.jwt_authorizer import Jwks, JwtAuthorizer

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool"
CLIENT_ID = "test-client-id"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
KID = "test-key"


class Issuer:
    """Signs tokens with one freshly generated RSA key and publishes it as a JWKS."""

    def __init__(self, kid: str = KID) -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0

    @property
    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    async def fetch_jwks(self) -> Jwks:
        self.fetches += 1
        return self.jwks

    def authorizer(self) -> JwtAuthorizer:
        return JwtAuthorizer(ISSUER, [CLIENT_ID], self.fetch_jwks)

    def token(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, **header}
        )


def access_claims(**overrides: Any) -> dict[str, Any]:
    """Claims shaped like a Cognito access token (client_id, no aud)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "auth_time": now,
        "exp": now + 900,
        "username": "user-1",
        "cognito:groups": ["admin", "ops"],
    }
    return {**claims, **overrides}


def id_claims(**overrides: Any) -> dict[str, Any]:
    """Claims shaped like a Cognito id token (aud, email)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "token_use": "id",
        "email": "user@example.com",
        "email_verified": True,
        "iat": now,
        "exp": now + 900,
    }
    return {**claims, **overrides}
