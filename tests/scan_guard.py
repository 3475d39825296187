"""The suite's guard against table-wide reads: a function that Scans fails the test it ran in."""

from __future__ import annotations

from collections import Counter

import pytest

from emulator.moto_operations import function_operations, table_wide_reads


def refuse_table_wide_reads(before: Counter[str], endpoint_url: str, during: str) -> None:
    """Fail unless no function sent a Scan to ``endpoint_url`` since ``before`` was counted."""
    sent = table_wide_reads(before, function_operations(endpoint_url))
    if sent:
        pytest.fail(
            f"functions sent {sent} during {during}: a request path reads by key or Query, "
            "never a whole table (see libs/resources/table.py, access patterns)",
            pytrace=False,
        )
