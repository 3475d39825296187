"""A container's init: the collector held back, SnapStart's hooks, one TLS context."""

from __future__ import annotations

import gc
import random
import sys
import types
from collections.abc import Callable

import pytest

from libs import init_phase
from libs.aws_clients import SharedTlsHttpSession, plain_http_options
from libs.container_loop import snapshot_hooks
from libs.http_function import HttpFunction
from libs.resources.functions import FUNCTIONS


class FakeRuntimeHooks(types.ModuleType):
    """``snapshot_restore_py`` as Lambda's runtime provides it: it records the hooks."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[], None]] = []

    def register_before_snapshot(self, hook: Callable[[], None]) -> None:
        self.before.append(hook)

    def register_after_restore(self, hook: Callable[[], None]) -> None:
        self.after.append(hook)

    def snapshot_and_restore(self) -> None:
        for hook in reversed(self.before):  # Lambda runs them in reverse order of registration
            hook()
        for hook in self.after:
            hook()


@pytest.fixture
def lambda_runtime(monkeypatch: pytest.MonkeyPatch) -> FakeRuntimeHooks:
    runtime = FakeRuntimeHooks()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return runtime


def test_without_snapstart_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no SnapStart runtime library (anywhere but Lambda)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    # Then registering hooks says so instead of failing
    assert snapshot_hooks(lambda: None, lambda: None) is False


def test_the_snapshot_holds_the_declared_clients_and_a_restore_replaces_them(
    lambda_runtime: FakeRuntimeHooks,
) -> None:
    # Given an HTTP function initialised under SnapStart
    api = HttpFunction("users")
    assert lambda_runtime.before
    assert lambda_runtime.after

    # When Lambda takes the snapshot (before any invocation) and restores a copy
    api._before_snapshot()
    primed = dict(api.clients._clients)
    random.seed(7)
    sequence_in_snapshot = random.random()
    random.seed(7)
    for hook in lambda_runtime.after:
        hook()

    # Then the snapshot held a client per declared service, and the copy got new ones
    assert set(primed) == set(FUNCTIONS["users"].aws_services)
    restored = api.clients._clients
    assert set(restored) == set(primed)
    assert all(restored[service] is not primed[service] for service in primed)
    # And its own pseudo-random sequence, not the one frozen in the snapshot
    assert random.random() != sequence_in_snapshot
    api.run(api.clients.close())


def test_clients_with_the_same_settings_share_one_tls_context() -> None:
    # Given two clients' HTTP sessions, verifying certificates alike
    first, second = SharedTlsHttpSession(verify=True), SharedTlsHttpSession(verify=True)
    unverified = SharedTlsHttpSession(verify=False)
    # Then the CA bundle is loaded once: both use the same context
    assert first._build_ssl_contexts(None)[0] is second._build_ssl_contexts(None)[0]
    # And other settings get a context of their own
    assert unverified._build_ssl_contexts(None)[0] is not first._build_ssl_contexts(None)[0]


def test_init_holds_the_collector_back_until_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Lambda container starting its init
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    before = gc.get_threshold()
    init_phase.begin_init()
    try:
        # Then the collector waits for many more allocations than usual
        assert gc.get_threshold()[0] == init_phase.INIT_THRESHOLD
    finally:
        # When init ends (the first invocation)
        init_phase.end_init()
    # Then the thresholds are back and what init built is frozen, out of the collector's sight
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    assert gc.get_threshold() == before
    assert frozen > 0


def test_outside_lambda_init_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    before = gc.get_threshold()
    init_phase.begin_init()
    assert gc.get_threshold() == before


@pytest.mark.parametrize(
    ("environ", "verified"),
    [
        ({}, True),  # AWS itself: HTTPS, verified
        ({"AWS_ENDPOINT_URL": "https://localhost:4566"}, True),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, False),  # the emulator: no TLS at all
        # One service elsewhere, perhaps over HTTPS: everything stays verified
        (
            {
                "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
                "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.example.com",
            },
            True,
        ),
    ],
)
def test_certificates_are_set_up_unless_every_endpoint_is_plain_http(
    environ: dict[str, str], verified: bool
) -> None:
    assert ("verify" not in plain_http_options(environ)) is verified
