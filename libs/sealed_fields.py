"""Envelope encryption of personal fields: AES-256-GCM under a KMS data key, cached per container.

A sealed value holds the ciphertext, its nonce, the data key as KMS encrypted it, the id of the
KMS key and the algorithm: everything needed to open it except KMS's permission. The data key
comes from ``GenerateDataKey`` and is reused for a bounded time and number of values (as the AWS
Encryption SDK's caching does), so a warm container seals without calling KMS; opened data keys
are cached by their encrypted form for the same time, so a warm read makes no KMS call either.

Two encryption contexts bind what may be opened where:
- KMS's (``purpose``) binds the data key to this use: a key wrapped for anything else is refused;
- AES-GCM's associated data (the owner's id and the field's name) binds each value to its user
  and field: a value copied onto another user's item, or into another field, does not open.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from libs.resources.keys import PII_KMS_CONTEXT

if TYPE_CHECKING:
    from types_aiobotocore_kms import KMSClient

ALGORITHM: Final = "AES-256-GCM"
KMS_CONTEXT: Final = PII_KMS_CONTEXT
# Bounds on a data key's reuse, those the AWS Encryption SDK's caching guidance suggests: a
# leaked key exposes at most five minutes' worth of values, and a nonce is never drawn twice
# under one key in any practical number of uses (2**32 is GCM's limit for random nonces).
MAX_AGE_SECONDS: Final = 300.0
MAX_USES: Final = 10_000
# Opened data keys kept at once (each is 32 bytes): those of the items a container reads.
MAX_OPENED_KEYS: Final = 256
_NONCE_BYTES: Final = 12


class SealedValue(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    """A field as stored: AES-GCM ciphertext (tag included) and what opening it needs."""

    ciphertext: bytes
    nonce: bytes
    encrypted_key: bytes  # the data key, encrypted by KMS under ``key_id``
    key_id: str
    algorithm: str = ALGORITHM


class UnsealError(Exception):
    """A sealed value does not open: tampered with, moved to another user or field, or unknown."""


class _DataKey(msgspec.Struct):
    plaintext: bytes
    encrypted: bytes
    key_id: str
    created: float
    uses: int = 0


class FieldSealer:
    """Seals and opens fields under one KMS key; holds the container's data keys.

    ``clock`` is monotonic seconds (injectable so the bounds can be tested without waiting).
    """

    def __init__(
        self,
        key_id: str,
        *,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_uses: int = MAX_USES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_id = key_id
        self.max_age_seconds = max_age_seconds
        self.max_uses = max_uses
        self._clock = clock
        self._sealing: _DataKey | None = None
        self._opened: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()

    async def seal(self, kms: KMSClient, value: bytes, *, owner: str, field: str) -> SealedValue:
        """``value`` encrypted for ``owner``'s ``field`` under the current data key."""
        key = await self._sealing_key(kms)
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = AESGCM(key.plaintext).encrypt(nonce, value, _associated(owner, field))
        return SealedValue(
            ciphertext=ciphertext, nonce=nonce, encrypted_key=key.encrypted, key_id=key.key_id
        )

    async def open(self, kms: KMSClient, sealed: SealedValue, *, owner: str, field: str) -> bytes:
        """The plaintext of ``sealed``, if it was sealed for ``owner``'s ``field``."""
        if sealed.algorithm != ALGORITHM:
            raise UnsealError(f"{field}: unknown algorithm {sealed.algorithm!r}")
        key = await self._opened_key(kms, sealed)
        try:
            return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, _associated(owner, field))
        except InvalidTag:
            raise UnsealError(f"{field}: does not open for this user and field") from None

    async def _sealing_key(self, kms: KMSClient) -> _DataKey:
        key = self._sealing
        now = self._clock()
        if key is None or key.uses >= self.max_uses or now - key.created >= self.max_age_seconds:
            generated = await kms.generate_data_key(
                KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=KMS_CONTEXT
            )
            key = _DataKey(
                plaintext=generated["Plaintext"],
                encrypted=generated["CiphertextBlob"],
                key_id=generated["KeyId"],
                created=now,
            )
            self._sealing = key
            self._remember(key.encrypted, key.plaintext, now)
        key.uses += 1
        return key

    async def _opened_key(self, kms: KMSClient, sealed: SealedValue) -> bytes:
        now = self._clock()
        cached = self._opened.get(sealed.encrypted_key)
        if cached is not None and now - cached[1] < self.max_age_seconds:
            self._opened.move_to_end(sealed.encrypted_key)
            return cached[0]
        try:
            # KeyId pins the key: a blob wrapped by any other key is refused, not tried.
            opened = await kms.decrypt(
                CiphertextBlob=sealed.encrypted_key,
                KeyId=sealed.key_id,
                EncryptionContext=KMS_CONTEXT,
            )
        except kms.exceptions.InvalidCiphertextException:
            raise UnsealError("the data key does not open under its KMS key") from None
        self._remember(sealed.encrypted_key, opened["Plaintext"], now)
        return opened["Plaintext"]

    def _remember(self, encrypted: bytes, plaintext: bytes, now: float) -> None:
        self._opened[encrypted] = (plaintext, now)
        self._opened.move_to_end(encrypted)
        while len(self._opened) > MAX_OPENED_KEYS:
            self._opened.popitem(last=False)


def _associated(owner: str, field: str) -> bytes:
    # Length-prefixed, so no (owner, field) pair encodes like another.
    encoded = [part.encode() for part in (owner, field)]
    return b"".join(len(part).to_bytes(4, "big") + part for part in encoded)
