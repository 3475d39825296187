"""Where the emulated AWS APIs live: moto (in this process or a child of its own), an endpoint
already running, or LocalStack in a container; and what the test suite runs against (those, or a
deployed stage)."""

from __future__ import annotations

import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, TypedDict

from emulator.moto_process import MotoProcess
from emulator.moto_server import serve_moto

DEFAULT_KIND: Final = "moto"
DEFAULT_REGION: Final = "us-east-1"
# What `just dev` and the local system can run on.
KINDS: Final = ("moto", "endpoint", "localstack")
# What the test suite can run against: an emulator, or a stage `just deploy` made in AWS.
SUITE_KINDS: Final = (*KINDS, "aws")
# The Pro image serves Cognito (the community image does not) and needs LOCALSTACK_AUTH_TOKEN;
# env LOCALSTACK_IMAGE picks another.
LOCALSTACK_IMAGE: Final = "localstack/localstack-pro:4.5"
LOCALSTACK_START_SECONDS: Final = 120.0
_PROBE_SECONDS: Final = 2.0

Emulator = Literal["moto", "localstack", "unknown"]


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run on this machine (LocalStack without a Docker engine)."""


class ClientOptions(TypedDict, total=False):
    """Keyword arguments of ``create_client`` that say where and as whom a client calls."""

    endpoint_url: str
    region_name: str
    aws_access_key_id: str
    aws_secret_access_key: str


@dataclass(frozen=True, slots=True)
class Backend:
    """A running emulator: where to send AWS API calls, and how to shut it down."""

    endpoint_url: str
    region: str
    # The child process serving the APIs, when this process started one (None: it serves them
    # itself, or does not own them).
    pid: int | None = None
    # The same APIs over HTTPS, and the CA bundle that verifies them (``tls=True``; else None).
    tls_endpoint_url: str | None = None
    ca_bundle: str | None = None
    _stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def stop(self) -> None:
        """Shut the emulator down (a no-op for endpoints this process does not own)."""
        self._stop()

    def client_options(self) -> ClientOptions:
        """Where an SDK client reaches this emulator (credentials from the environment)."""
        return {"endpoint_url": self.endpoint_url, "region_name": self.region}


@dataclass(frozen=True, slots=True)
class SuiteTarget:
    """What the test suite runs against, and what answers there (None: AWS itself)."""

    kind: str
    emulator: Emulator | None
    # moto in this very process: its Python objects can be read directly.
    in_process: bool = False


def selected_kind(kind: str | None = None, kinds: tuple[str, ...] = KINDS) -> str:
    """``kind``, else env ``EMULATOR``, else moto; refused unless it is one of ``kinds``."""
    kind = kind or os.environ.get("EMULATOR") or DEFAULT_KIND
    if kind in kinds:
        return kind
    if kind == "aws":
        raise ValueError(
            "EMULATOR=aws runs the test suite against a deployed stage; nothing is started "
            f"for it: use one of {', '.join(kinds)}"
        )
    raise ValueError(f"unknown EMULATOR {kind!r}; expected one of {', '.join(kinds)}")


def start_backend(
    kind: str | None = None, *, moto_in_process: bool = True, tls: bool = False
) -> Backend:
    """Start (or locate) the emulator named by ``kind``, defaulting to env ``EMULATOR`` or moto.

    ``moto_in_process=False`` serves moto from a child process of its own (other kinds ignore it).
    ``tls=True`` also serves moto over HTTPS, with the local CA (``emulator.local_tls``).
    """
    kind = selected_kind(kind)
    region = _region()
    if tls and kind != "moto":
        raise BackendUnavailable(f"the local TLS endpoint serves moto only, not {kind}")
    if kind == "moto":
        if moto_in_process:
            return _start_moto(region, tls=tls)
        return _start_moto_process(region, tls=tls)
    if kind == "endpoint":
        endpoint_url = _endpoint_url()
        _emulator_credentials()
        return Backend(endpoint_url=endpoint_url, region=region)
    return _start_localstack(region)


def suite_target(kind: str | None = None) -> SuiteTarget:
    """What the test suite runs against: ``kind``, else env ``EMULATOR``, else moto."""
    kind = selected_kind(kind, SUITE_KINDS)
    if kind == "moto":
        return SuiteTarget(kind, "moto", in_process=True)
    if kind == "localstack":
        return SuiteTarget(kind, "localstack")
    if kind == "aws":
        return SuiteTarget(kind, None)
    return SuiteTarget(kind, emulator_at(_endpoint_url()) or "unknown")


def emulator_at(endpoint_url: str) -> Emulator | None:
    """Which emulator answers at ``endpoint_url``, from a read-only page each one serves."""
    probes: tuple[tuple[str, Emulator], ...] = (
        ("/moto-api/config", "moto"),
        ("/_localstack/health", "localstack"),
    )
    if not endpoint_url.startswith(("http://", "https://")):
        return None
    # An HTTPS emulator is verified as botocore verifies it: with AWS_CA_BUNDLE, if set.
    context = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None)
    for path, emulator in probes:
        try:
            # The scheme is checked above: only http(s) URLs are opened.
            with urllib.request.urlopen(  # noqa: S310
                endpoint_url.rstrip("/") + path, timeout=_PROBE_SECONDS, context=context
            ) as response:
                if 200 <= response.status < 300:
                    return emulator
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return None


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    try:
        import docker  # type: ignore[import-untyped]
        from docker.errors import DockerException  # type: ignore[import-untyped]
    except ImportError as missing:
        return f"the docker package is not installed ({missing})"
    try:
        docker.from_env(timeout=5).ping()
    except DockerException as error:
        return str(error)
    return None


def _emulator_credentials() -> None:
    # botocore refuses to sign without credentials; emulators accept any.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _endpoint_url() -> str:
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint_url:
        raise RuntimeError("EMULATOR=endpoint needs AWS_ENDPOINT_URL, e.g. http://localhost:4566")
    return endpoint_url


def _start_localstack(region: str) -> Backend:
    problem = docker_engine_problem()
    if problem is not None:
        raise BackendUnavailable(
            "EMULATOR=localstack needs a running Docker engine and none answers here "
            f"({problem}); start Docker, or use EMULATOR=moto, or EMULATOR=endpoint with "
            "AWS_ENDPOINT_URL of a LocalStack started elsewhere"
        )
    image = os.environ.get("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE)
    token = os.environ.get("LOCALSTACK_AUTH_TOKEN")
    if not token and image == LOCALSTACK_IMAGE:
        raise BackendUnavailable(
            f"EMULATOR=localstack runs {LOCALSTACK_IMAGE} (Cognito is a Pro service), which "
            "needs LOCALSTACK_AUTH_TOKEN; set it, or LOCALSTACK_IMAGE for another image"
        )
    from testcontainers.community.localstack import LocalStackContainer

    container = LocalStackContainer(image=image, region_name=region)
    if token:
        container.with_env("LOCALSTACK_AUTH_TOKEN", token)
    container.start(timeout=LOCALSTACK_START_SECONDS)
    _emulator_credentials()
    return Backend(endpoint_url=container.get_url(), region=region, _stop=container.stop)


def _start_moto(region: str, *, tls: bool = False) -> Backend:
    _emulator_credentials()
    server = serve_moto(tls=tls)
    return Backend(
        endpoint_url=server.endpoint_url,
        region=region,
        tls_endpoint_url=server.tls_endpoint_url,
        ca_bundle=server.ca_bundle,
        _stop=server.stop,
    )


def _start_moto_process(region: str, *, tls: bool = False) -> Backend:
    _emulator_credentials()  # the child inherits them, and this process's clients sign with them
    process = MotoProcess(tls=tls)
    return Backend(
        endpoint_url=process.endpoint_url,
        region=region,
        pid=process.pid,
        tls_endpoint_url=process.tls_endpoint_url,
        ca_bundle=process.ca_bundle,
        _stop=process.stop,
    )
