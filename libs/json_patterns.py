"""The regular expressions the API checks, each declared once for msgspec and the document.

msgspec checks a ``pattern`` with Python's ``re``; the OpenAPI document states the same string,
which clients and validators read as an ECMA-262 regular expression. The two dialects disagree
on ``\\d``, ``\\w`` and ``\\s`` (Unicode in Python, ASCII or another set in ECMA-262), so every
pattern here spells its characters out in classes that both read alike. They disagree on ``$``
too: Python's also matches before a final line break, so ``"GB\\n"`` would pass ``^[A-Z]{2}$``.
A pattern ends with ``(?![\\s\\S])`` instead, "no character follows", the true end in both.
"""

from __future__ import annotations

from typing import Final

END: Final = r"(?![\s\S])"


def exactly(body: str) -> str:
    """A pattern matching strings that are ``body`` from start to end (no final line break)."""
    return f"^{body}{END}"


# Printable ASCII without the space: tokens, codes, header values.
VISIBLE_ASCII: Final = r"[\x21-\x7e]"
# At least one character that is neither ASCII whitespace nor a control character.
NOT_BLANK: Final = r"[^\x00-\x20\x7f]"

PRODUCT_ID: Final = exactly(r"[a-z0-9][a-z0-9-]{0,63}")
CATEGORY: Final = exactly(r"[a-z0-9][a-z0-9-]{0,39}")
CURRENCY: Final = exactly(r"[A-Z]{3}")  # ISO 4217
COUNTRY: Final = exactly(r"[A-Z]{2}")  # ISO 3166-1 alpha-2
# E.164: a plus, a country code not starting with 0, at most 15 digits in all.
PHONE: Final = exactly(r"\+[1-9][0-9]{1,14}")
# An email address as Cognito takes it for a username (its own check is unpublished; this is
# the common ASCII form, which Cognito and the emulator both accept): a local part starting with
# a letter, digit or underscore, then labels separated by dots and a top-level label of letters.
_LABEL: Final = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL: Final = exactly(rf"[A-Za-z0-9_][A-Za-z0-9._%+-]*@({_LABEL}\.)+[A-Za-z]{{2,63}}")
# Cognito's confirmation and reset codes, and its tokens: printable ASCII.
CODE: Final = exactly(rf"{VISIBLE_ASCII}+")
TOKEN: Final = exactly(rf"{VISIBLE_ASCII}+")
# The IETF Idempotency-Key draft: a header value of printable ASCII.
IDEMPOTENCY_KEY: Final = exactly(rf"{VISIBLE_ASCII}{{1,255}}")
CORRELATION_ID: Final = exactly(r"[A-Za-z0-9._:-]{1,128}")
DECIMAL_DIGITS: Final = exactly(r"[0-9]+")
# Page cursors are URL-safe base64 (libs/single_table.py); empty means "the first page".
CURSOR: Final = exactly(r"[A-Za-z0-9_-]*")


def requiring(*classes: str) -> str:
    """A pattern matched by a string holding at least one character of each class.

    ``[\\s\\S]`` is "any character, line breaks included" in both dialects, unlike ``.``.
    """
    return "^" + "".join(rf"(?=[\s\S]*{character_class})" for character_class in classes)
