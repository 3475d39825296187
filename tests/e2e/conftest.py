"""The end-to-end suite's guard: no function may Scan the table while a test drives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.moto_operations import function_operations
from tests.scan_guard import refuse_table_wide_reads
from tests.suite_target import target
from tests.system_under_test import SystemUnderTest


@pytest.fixture(scope="session", autouse=True)
def no_scan_in_the_session(stack: SystemUnderTest) -> Iterator[None]:
    """Also catches a Scan sent after its test ended (a queue consumer's, say)."""
    before = function_operations(stack.endpoint_url)
    yield
    if target().in_process:
        refuse_table_wide_reads(before, stack.endpoint_url, "the end-to-end session")


@pytest.fixture(autouse=True)
def no_scan_in_the_test(request: pytest.FixtureRequest, stack: SystemUnderTest) -> Iterator[None]:
    """Fail the test during which a function sent a Scan (moto in this process counts them)."""
    before = function_operations(stack.endpoint_url)
    yield
    if target().in_process:
        refuse_table_wide_reads(before, stack.endpoint_url, request.node.nodeid)
