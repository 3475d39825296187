"""Users, conventionally: GET /users/me reads the Cognito account, then the stored profile,
and opens its sealed fields as ours does (KMS Decrypt of the data key, cached; AES-GCM)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

logger = Logger(service="users")
metrics = Metrics(namespace="ServerlessBlueprint/Users", service="users")
tracer = Tracer(service="users")
app = APIGatewayHttpResolver()

_config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
dynamodb = boto3.client("dynamodb", config=_config)
cognito = boto3.client("cognito-idp", config=_config)
kms = boto3.client("kms", config=_config)
TABLE = os.environ["TABLE_NAME"]
USER_POOL_ID = os.environ["USER_POOL_ID"]
_deserializer = TypeDeserializer()
SEALED_FIELDS = ("name", "phone", "address")
_opened_keys: dict[bytes, bytes] = {}  # data keys by their encrypted form, for the container


def _opened(user_id: str, field: str, sealed: Any) -> Any:
    """A sealed field's value (the format of libs/sealed_fields.py); a plain value as it is."""
    if not isinstance(sealed, dict):
        return sealed
    encrypted = base64.b64decode(sealed["encryptedKey"])
    key = _opened_keys.get(encrypted)
    if key is None:
        key = kms.decrypt(
            CiphertextBlob=encrypted,
            KeyId=sealed["keyId"],
            EncryptionContext={"purpose": "personal-fields"},
        )["Plaintext"]
        _opened_keys[encrypted] = key
    associated = b"".join(len(p).to_bytes(4, "big") + p for p in (user_id.encode(), field.encode()))
    nonce, ciphertext = (base64.b64decode(sealed[k]) for k in ("nonce", "ciphertext"))
    return json.loads(AESGCM(key).decrypt(nonce, ciphertext, associated))


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Address(Model):
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None


class Preferences(Model):
    email: bool = True
    sms: bool = False


class Profile(Model):
    user_id: str
    email: str
    email_verified: bool
    name: str | None
    phone: str | None = None
    address: Address | None = None
    preferences: Preferences = Field(default_factory=Preferences)
    created_at: str | None = None
    updated_at: str | None = None
    version: int = 0


@app.get("/users/me")
@tracer.capture_method
def get_me() -> Response[str]:
    user_id = app.current_event.request_context.authorizer.jwt_claim["sub"]
    user = cognito.admin_get_user(UserPoolId=USER_POOL_ID, Username=user_id)
    attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
    key = {"PK": {"S": f"USER#{user_id}"}, "SK": {"S": "PROFILE"}}
    item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    stored = {k: _deserializer.deserialize(v) for k, v in item.items()} if item else {}
    for field in SEALED_FIELDS:
        if field in stored:
            stored[field] = _opened(user_id, field, stored[field])
    profile = Profile(
        user_id=user_id,
        email=attributes.get("email", ""),
        email_verified=attributes.get("email_verified") == "true",
        name=stored.get("name") or attributes.get("name") or None,
        phone=stored.get("phone"),
        address=stored.get("address"),
        preferences=stored.get("preferences") or Preferences(),
        created_at=stored.get("createdAt"),
        updated_at=stored.get("updatedAt"),
        version=int(stored.get("version", 0)),
    )
    return Response(
        status_code=200,
        content_type="application/json",
        body=profile.model_dump_json(by_alias=True),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    response = app.resolve(event, context)
    response.setdefault("headers", {})["x-correlation-id"] = logger.get_correlation_id() or ""
    logger.info(
        "request handled",
        extra={
            "route": event.get("routeKey"),
            "status": response.get("statusCode"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
