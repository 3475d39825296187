"""The customer-managed KMS keys functions call themselves (the table's and the queues' keys are
used by the services on their behalf, and stay in the security stack)."""

from __future__ import annotations

import msgspec


class KeyDeclaration(msgspec.Struct, frozen=True, kw_only=True):
    """A symmetric KMS key: its construct id, the alias the emulator finds it by, what it is for."""

    logical_id: str
    alias: str  # without the ``alias/`` prefix
    description: str


# Wraps the data keys that seal personal fields of user profiles (``libs/sealed_fields.py``):
# the users function generates and opens them, the notifications consumer only opens them.
PII_KEY = KeyDeclaration(
    logical_id="PiiKey",
    alias="serverless-blueprint-pii",
    description="user profiles' personal fields (envelope encryption, data keys)",
)
# The KMS encryption context of every data key PII_KEY makes: KMS refuses to open one without it,
# and the functions' grants are conditioned on it (nothing else may use the key through them).
PII_KMS_CONTEXT = {"purpose": "personal-fields"}
