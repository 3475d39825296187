"""The emulator over HTTPS, as AWS serves every endpoint: a local certificate authority, and moto
answering TLS on a port of its own beside its plain HTTP one.

The chain is shaped like AWS's: an RSA 2048 root, an intermediate, and a server certificate for
``127.0.0.1`` and ``localhost``; the server sends its certificate with the intermediate. Functions
verify it through ``AWS_CA_BUNDLE``, which names botocore's own CA bundle with the local root
appended, so a function loads as many CA certificates as it would in Lambda. The files are made
once and kept in ``.local/tls/`` (remade when incomplete or near expiry); nothing is committed.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parent.parent / ".local" / "tls"
HOST: Final = "127.0.0.1"
_SERVER_NAMES: Final = ("localhost",)
_SERVER_ADDRESSES: Final = ("127.0.0.1", "::1")
_CA_DAYS: Final = 3650
_SERVER_DAYS: Final = 365
# A server certificate closer than this to its end is replaced (with the whole chain).
_RENEW_BEFORE: Final = datetime.timedelta(days=7)
_FILES: Final = ("root.pem", "server-chain.pem", "server-key.pem", "ca-bundle.pem")


@dataclass(frozen=True, slots=True)
class LocalCertificates:
    """The local CA's files: what clients trust and what the emulator's TLS listener serves."""

    directory: Path

    @property
    def root(self) -> Path:
        """The local root certificate alone."""
        return self.directory / "root.pem"

    @property
    def ca_bundle(self) -> Path:
        """botocore's CA bundle plus the local root: the functions' ``AWS_CA_BUNDLE``."""
        return self.directory / "ca-bundle.pem"

    @property
    def server_chain(self) -> Path:
        """The server certificate followed by the intermediate that signed it."""
        return self.directory / "server-chain.pem"

    @property
    def server_key(self) -> Path:
        """The server certificate's private key."""
        return self.directory / "server-key.pem"

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting the chain."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_chain, self.server_key)
        return context


def local_certificates(directory: Path = DEFAULT_DIRECTORY) -> LocalCertificates:
    """The local CA's files in ``directory``, made there first when missing or near expiry."""
    certificates = LocalCertificates(directory)
    if _usable(certificates):
        return certificates
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Made aside and moved in at once: two processes starting together never see half a chain.
    made = Path(tempfile.mkdtemp(prefix=".tls-", dir=directory.parent))
    try:
        _write_chain(made)
        if directory.exists() and not _usable(certificates):
            shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):  # another process moved its own in first: use it
            made.rename(directory)
    finally:
        shutil.rmtree(made, ignore_errors=True)
    if not _usable(certificates):
        raise RuntimeError(f"could not make the local CA's files in {directory}")
    return certificates


def default_ca_bundle() -> Path:
    """The CA bundle botocore verifies AWS with when ``AWS_CA_BUNDLE`` is not set."""
    from botocore.httpsession import DEFAULT_CA_BUNDLE

    return Path(DEFAULT_CA_BUNDLE)


class TlsListener:
    """moto's application served over HTTPS from a thread of this process.

    moto keeps its state in module-level backends, so this listener and moto's plain one answer
    from the same data. Connections are kept alive as on the plain one: a client pays for one
    handshake per connection, as with AWS.
    """

    def __init__(self, certificates: LocalCertificates, host: str = HOST) -> None:
        from moto.moto_server import threaded_moto_server
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        moto_server: Any = threaded_moto_server  # patched by the emulator's speed-ups
        self._server = make_server(
            host,
            0,  # the OS picks a free port
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            # Looked up now: the keep-alive handler the emulator's speed-ups install, if they ran.
            request_handler=moto_server.MotoRequestHandler,
            ssl_context=certificates.server_context(),
        )
        port = self._server.server_address[1]
        self.endpoint_url = f"https://{host}:{port}"
        self.ca_bundle = str(certificates.ca_bundle)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-tls", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and wait for the serving thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _usable(certificates: LocalCertificates) -> bool:
    if not all((certificates.directory / name).is_file() for name in _FILES):
        return False
    try:
        server = x509.load_pem_x509_certificate(certificates.server_chain.read_bytes())
    except ValueError:
        return False
    now = datetime.datetime.now(datetime.UTC)
    return server.not_valid_after_utc - _RENEW_BEFORE > now


def _write_chain(directory: Path) -> None:
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    root_key, intermediate_key, server_key = (_rsa_key() for _ in range(3))
    root_name = _name("serverless-blueprint local root CA")
    intermediate_name = _name("serverless-blueprint local intermediate CA")
    root = (
        _builder(root_name, root_name, root_key, now, _CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    intermediate = (
        _builder(intermediate_name, root_name, intermediate_key, now, _CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_authority_key_id(root_key), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    alternative_names: list[x509.GeneralName] = [x509.DNSName(n) for n in _SERVER_NAMES]
    alternative_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in _SERVER_ADDRESSES]
    server = (
        _builder(_name("localhost"), intermediate_name, server_key, now, _SERVER_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(_authority_key_id(intermediate_key), critical=False)
        .sign(intermediate_key, hashes.SHA256())
    )
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    (directory / "root.pem").write_bytes(root_pem)
    chain = server.public_bytes(serialization.Encoding.PEM)
    chain += intermediate.public_bytes(serialization.Encoding.PEM)
    (directory / "server-chain.pem").write_bytes(chain)
    key_file = directory / "server-key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    default = default_ca_bundle().read_bytes().rstrip(b"\n")
    (directory / "ca-bundle.pem").write_bytes(default + b"\n\n" + root_pem)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    not_before: datetime.datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _authority_key_id(issuer_key: rsa.RSAPrivateKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
