"""aiohttp imported with its CA bundle deferred still verifies every TLS connection it makes.

Each check runs in a fresh interpreter (aiohttp must not be imported yet), against a local HTTPS
server whose certificate a test CA signed; ``SSL_CERT_FILE`` decides which CA the process trusts.
"""

from __future__ import annotations

import datetime
import http.server
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate_authority(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """An HTTPS server on localhost, the CA file that signed it and one that did not."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, ca = _certificate_authority("serverless-blueprint test CA")
    _, stranger = _certificate_authority("some other CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "trusted.pem").write_bytes(_pem(ca))
    (folder / "stranger.pem").write_bytes(_pem(stranger))
    (folder / "server.pem").write_bytes(_pem(leaf))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"https://localhost:{server.server_address[1]}/",
        "trusted": folder / "trusted.pem",
        "stranger": folder / "stranger.pem",
    }
    server.shutdown()
    server.server_close()


def run_fresh(code: str, ca_file: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that trusts only ``ca_file``."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": str(ca_file.parent), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


GET_WITH_AIOHTTP_DEFAULTS = """
    import asyncio, ssl, sys
    from libs.aiohttp_tls import DeferredCaContext, import_aiohttp

    import_aiohttp()
    import aiohttp, aiohttp.connector

    verified = aiohttp.connector._SSL_CONTEXT_VERIFIED
    assert isinstance(verified, DeferredCaContext), type(verified)
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert verified.cert_store_stats()["x509_ca"] == 0, "loaded at import"

    async def get():
        async with aiohttp.ClientSession() as session:
            async with session.get(sys.argv[1] if len(sys.argv) > 1 else URL) as response:
                return response.status, await response.text()

    try:
        print(asyncio.run(get()))
    except aiohttp.ClientConnectorCertificateError as error:
        print("certificate refused:", error.certificate_error.verify_message)
    print("CA certificates loaded:", verified.cert_store_stats()["x509_ca"])
"""


def test_the_default_context_loads_the_trusted_cas_at_its_first_handshake(
    tls: dict[str, object],
) -> None:
    # Given a process that trusts the CA that signed the server's certificate
    # When aiohttp, imported with its CA bundle deferred, makes a request with its defaults
    result = run_fresh(
        f"URL = {str(tls['url'])!r}\n" + textwrap.dedent(GET_WITH_AIOHTTP_DEFAULTS),
        Path(str(tls["trusted"])),
    )
    # Then the handshake verified the server, with the CA loaded only then
    assert result.returncode == 0, result.stderr
    assert "(200, 'hello')" in result.stdout
    assert "CA certificates loaded: 1" in result.stdout


def test_a_server_signed_by_an_untrusted_ca_is_still_refused(tls: dict[str, object]) -> None:
    # Given a process whose trusted CA did not sign the server's certificate
    # When aiohttp makes the same request
    result = run_fresh(
        f"URL = {str(tls['url'])!r}\n" + textwrap.dedent(GET_WITH_AIOHTTP_DEFAULTS),
        Path(str(tls["stranger"])),
    )
    # Then the certificate is refused: deferring the load did not turn verification off
    assert result.returncode == 0, result.stderr
    assert "certificate refused: unable to get local issuer certificate" in result.stdout


def test_the_ssl_module_is_left_as_it_was(tls: dict[str, object]) -> None:
    # Given a fresh interpreter that trusts one CA
    # When aiohttp is imported through import_aiohttp
    result = run_fresh(
        """
        import ssl
        from libs.aiohttp_tls import import_aiohttp
        original = ssl.create_default_context
        import_aiohttp()
        assert ssl.create_default_context is original
        assert "set_default_verify_paths" not in vars(ssl.SSLContext)
        context = ssl.create_default_context()
        print("default context CAs:", context.cert_store_stats()["x509_ca"])
        """,
        Path(str(tls["trusted"])),
    )
    # Then contexts made afterwards load their CA certificates at once, as ever
    assert result.returncode == 0, result.stderr
    assert "default context CAs: 1" in result.stdout
