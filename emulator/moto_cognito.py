"""moto's Cognito made to answer as Cognito does where the auth function depends on it.

ConfirmForgotPassword for a username the pool does not have: Cognito answers
UserNotFoundException (CodeMismatchException when the pool hides which users exist), and the
auth function turns either into 400 ``invalid-code``. moto answers ResourceNotFoundException,
which in AWS means the app client does not exist, so the function rightly answered 500.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_PATCH_LOCK = threading.Lock()


def patch_moto_cognito() -> None:
    """Make moto's ConfirmForgotPassword refuse an unknown username as Cognito does; idempotent."""
    from moto.cognitoidp.exceptions import UserNotFoundError
    from moto.cognitoidp.models import CognitoIdpBackend

    with _PATCH_LOCK:
        original = CognitoIdpBackend.confirm_forgot_password
        if getattr(original, "_emulator_patched", False):
            return

        @functools.wraps(original)
        def confirm_forgot_password(
            self: CognitoIdpBackend, client_id: str, username: str, *args: Any
        ) -> None:
            for pool in self.user_pools.values():
                if client_id in pool.clients and pool._get_user(username) is None:
                    raise UserNotFoundError("Username/client id combination not found.")
            original(self, client_id, username, *args)

        confirm_forgot_password._emulator_patched = True  # type: ignore[attr-defined]
        CognitoIdpBackend.confirm_forgot_password = confirm_forgot_password  # type: ignore[method-assign,assignment]
