"""aiohttp imported without loading the CA bundle into TLS contexts nobody has used yet.

Importing aiohttp builds its two default client contexts (``aiohttp.connector``) and each loads
the system's CA bundle: ~40 ms of a ~300 ms Lambda init, for contexts aiobotocore never uses (it
hands every connector one of its own). ``import_aiohttp`` imports it with the verifying context's
certificates loaded at its first handshake instead, and none loaded into the context that
verifies nothing. Verification itself is unchanged: the deferred context still requires a valid
chain and host name, and cannot handshake before its certificates are in.
"""

from __future__ import annotations

import contextlib
import ssl
import sys
import threading
from collections.abc import Iterator
from typing import Any


class DeferredCaContext(ssl.SSLContext):
    """A verifying client context that loads the default CA certificates at its first handshake."""

    _ca_loaded: bool
    _ca_lock: threading.Lock

    def load_deferred_certs(self) -> None:
        """Load the default CA certificates now, once (idempotent, thread-safe)."""
        if self._ca_loaded:
            return
        with self._ca_lock:
            if not self._ca_loaded:
                self.load_default_certs(ssl.Purpose.SERVER_AUTH)
                self._ca_loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_deferred_certs()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        # asyncio's TLS transport (what aiohttp uses) starts every handshake here.
        self.load_deferred_certs()
        return super().wrap_bio(*args, **kwargs)


def deferred_default_context() -> DeferredCaContext:
    """What ``ssl.create_default_context()`` gives a client, with the CA bundle loaded later."""
    context = DeferredCaContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host names checked
    context._ca_loaded = False
    context._ca_lock = threading.Lock()
    return context


@contextlib.contextmanager
def _ca_bundle_deferred() -> Iterator[None]:
    original_default_context = ssl.create_default_context
    shadowed = "set_default_verify_paths" in vars(ssl.SSLContext)

    def default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if args or kwargs:  # a purpose or CA files of its own: not aiohttp's default
            return original_default_context(*args, **kwargs)
        return deferred_default_context()

    def no_default_verify_paths(self: ssl.SSLContext) -> None:
        # Called only on aiohttp's context that verifies nothing (CERT_NONE): its CA
        # certificates would never be consulted.
        if self.verify_mode != ssl.CERT_NONE:
            ssl._SSLContext.set_default_verify_paths(self)  # type: ignore[attr-defined]

    ssl.create_default_context = default_context
    ssl.SSLContext.set_default_verify_paths = no_default_verify_paths  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.create_default_context = original_default_context
        if not shadowed:
            del ssl.SSLContext.set_default_verify_paths


def import_aiohttp() -> None:
    """Import aiohttp's connector with its default TLS contexts deferred (no-op once imported)."""
    if "aiohttp.connector" in sys.modules:
        return
    with _ca_bundle_deferred():
        import aiohttp.connector  # noqa: F401
