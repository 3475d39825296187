"""The emulator over HTTPS: functions verify its local CA through AWS_CA_BUNDLE, as they verify
AWS, and refuse an endpoint their bundle does not vouch for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiobotocore.session import get_session

from emulator.backends import start_backend
from emulator.function_pool import FunctionPool
from emulator.local_system import LocalSystem
from emulator.local_tls import LocalCertificates, TlsListener, local_certificates
from emulator.provision import function_environment
from libs.resources.functions import FUNCTIONS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.moto_in_process("serves this process's moto over HTTPS"),
]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> LocalCertificates:
    """A local CA of this module's own."""
    return local_certificates(tmp_path_factory.mktemp("tls") / "ca")


@pytest.fixture(scope="module")
def listener(certificates: LocalCertificates) -> Iterator[TlsListener]:
    """The session's moto, also served over HTTPS."""
    served = TlsListener(certificates)
    yield served
    served.stop()


def products_function(stack: LocalSystem, endpoint_url: str, ca_bundle: Path) -> FunctionPool:
    """The products function in a fresh container, reaching moto at ``endpoint_url``."""
    outputs = msgspec.structs.replace(
        stack.outputs, aws_endpoint_url=endpoint_url, aws_ca_bundle=str(ca_bundle)
    )
    name = f"products-tls-{uuid.uuid4().hex[:6]}"
    return FunctionPool(FUNCTIONS["products"], function_environment(outputs), function_name=name)


def get_product(product_id: str) -> dict[str, Any]:
    """A payload 2.0 event for ``GET /products/{productId}``."""
    path = f"/products/{product_id}"
    return {
        "version": "2.0",
        "routeKey": "GET /products/{productId}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"user-agent": "test"},
        "pathParameters": {"productId": product_id},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "::1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "GET /products/{productId}",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


async def test_a_function_reaches_the_emulator_over_tls_verifying_the_local_ca(
    stack: LocalSystem, listener: TlsListener, certificates: LocalCertificates
) -> None:
    # Given the products function told to verify with the local CA's bundle
    pool = products_function(stack, listener.endpoint_url, certificates.ca_bundle)
    try:
        # When it reads a seeded product over HTTPS
        result = await pool.invoke(get_product("usb-c-hub"))
    finally:
        pool.close()
    # Then it answers with the product
    assert listener.endpoint_url.startswith("https://")
    assert result["statusCode"] == 200, result
    assert msgspec.json.decode(result["body"])["productId"] == "usb-c-hub"


async def test_a_function_refuses_an_endpoint_its_ca_bundle_does_not_vouch_for(
    stack: LocalSystem,
    listener: TlsListener,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given the function's bundle holds another CA's root, not the one that signed the server
    other = local_certificates(tmp_path / "other-ca")
    pool = products_function(stack, listener.endpoint_url, other.ca_bundle)
    try:
        # When it reads the same product
        result = await pool.invoke(get_product("usb-c-hub"))
    finally:
        pool.close()
    # Then the handshake fails: the caller gets a 503 problem, not the product
    assert result["statusCode"] == 503, result
    assert msgspec.json.decode(result["body"])["type"].endswith("dependency-unavailable")
    # And the function's log names the certificate check as the cause
    assert '"error":"SSLError"' in capfd.readouterr().out


async def test_moto_in_a_process_of_its_own_serves_https_beside_http() -> None:
    # Given moto started as `just dev --tls` starts it
    backend = start_backend("moto", moto_in_process=False, tls=True)
    try:
        assert backend.tls_endpoint_url is not None
        assert backend.ca_bundle is not None
        options: dict[str, Any] = {"region_name": backend.region, "verify": backend.ca_bundle}
        session = get_session()
        # When a table is made over plain HTTP and listed over HTTPS
        async with (
            session.create_client("dynamodb", endpoint_url=backend.endpoint_url, **options) as a,
            session.create_client(
                "dynamodb", endpoint_url=backend.tls_endpoint_url, **options
            ) as b,
        ):
            await a.create_table(
                TableName="tls-check",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            )
            tables = await b.list_tables()
    finally:
        backend.stop()
    # Then both listeners answer from the same data
    assert tables["TableNames"] == ["tls-check"]


def test_the_local_ca_is_made_once_and_reused(certificates: LocalCertificates) -> None:
    # Given the module's CA already made
    before = certificates.server_chain.read_bytes()
    # When it is asked for again
    again = local_certificates(certificates.directory)
    # Then the same files serve, and the bundle holds botocore's CAs and the local root
    assert again.server_chain.read_bytes() == before
    bundle = again.ca_bundle.read_bytes()
    assert bundle.rstrip().endswith(certificates.root.read_bytes().rstrip())
    assert bundle.count(b"BEGIN CERTIFICATE") > 100
