"""moto's Cognito made to answer as Cognito does where the auth function depends on it.

ConfirmForgotPassword for a username the pool does not have: Cognito answers
UserNotFoundException (CodeMismatchException when the pool hides which users exist), and the
auth function turns either into 400 ``invalid-code``. moto answers ResourceNotFoundException,
which in AWS means the app client does not exist, so the function rightly answered 500.

Passwords: moto refuses one of 99 characters or more, where Cognito accepts up to 256 (its API
model's limit, which the API documents). moto's check is applied to a password of Cognito's
length as to a short one: the policy's rules are unchanged, only the limit is Cognito's.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from libs.resources.user_pool import MAXIMUM_PASSWORD_LENGTH

_PATCH_LOCK = threading.Lock()
_MOTO_LIMIT = 99  # moto refuses a password of this many characters or more
_MOTO_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")


def patch_moto_cognito() -> None:
    """Make moto's ConfirmForgotPassword and password limit answer as Cognito's do; idempotent."""
    from moto.cognitoidp.exceptions import UserNotFoundError
    from moto.cognitoidp.models import CognitoIdpBackend

    with _PATCH_LOCK:
        _patch_password_limit(CognitoIdpBackend)
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


def _patch_password_limit(backend: Any) -> None:
    from moto.cognitoidp.exceptions import InvalidPasswordException

    original = backend._validate_password
    if getattr(original, "_emulator_patched", False):
        return

    @functools.wraps(original)
    def validate_password(self: Any, user_pool_id: str, password: str) -> None:
        if len(password) > MAXIMUM_PASSWORD_LENGTH:
            raise InvalidPasswordException()
        # moto's own rules, on a stand-in below its limit with the same character classes:
        # the first characters of each class present, padded to the same length where short.
        original(self, user_pool_id, _within_moto_limit(password))

    validate_password._emulator_patched = True  # type: ignore[attr-defined]
    backend._validate_password = validate_password


def _within_moto_limit(password: str) -> str:
    """``password`` if moto takes its length; otherwise 98 characters with the same classes."""
    if len(password) < _MOTO_LIMIT:
        return password
    kinds = {_kind(character): character for character in reversed(password)}
    head = "".join(kinds.values())
    return head + password[: _MOTO_LIMIT - 1 - len(head)]


def _kind(character: str) -> str:
    """What moto's rules see in a character: its digit, upper, lower and symbol classes."""
    if re.match(r"\d", character):
        return "digit"
    if "A" <= character <= "Z":
        return "upper"
    if "a" <= character <= "z":
        return "lower"
    return "symbol" if character in _MOTO_SYMBOLS else "other"
