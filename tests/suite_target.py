"""Which backend the suite runs against, and which tests that backend can run.

``EMULATOR=moto`` (the default) runs moto in this process; ``endpoint`` uses the emulator at
``AWS_ENDPOINT_URL``, under names of this session's own; ``localstack`` starts LocalStack with
testcontainers; ``aws`` targets the stage whose outputs file ``STACK_OUTPUTS`` names. Tests
marked ``emulator``, ``moto`` or ``moto_in_process`` are skipped where that power is missing.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pytest

from emulator.backends import SuiteTarget, suite_target

if TYPE_CHECKING:
    pass


@functools.cache
def target() -> SuiteTarget:
    """What this session runs against (env ``EMULATOR``), looked up once."""
    try:
        return suite_target()
    except (ValueError, RuntimeError) as wrong:
        raise pytest.UsageError(str(wrong)) from None


def skip_reason(item: pytest.Item, target: SuiteTarget) -> str | None:
    """Why ``item`` cannot run against ``target`` (None: it can), from its backend markers."""
    backend = f"EMULATOR={target.kind}"
    marker = item.get_closest_marker("moto_in_process")
    if marker is not None and not target.in_process:
        return f"{_why(marker)}: reads moto's state in this process, which {backend} lacks"
    marker = item.get_closest_marker("moto")
    if marker is not None and target.emulator != "moto":
        answering = target.emulator or "AWS itself"
        return f"{_why(marker)}: only moto does that, and {answering} answers for {backend}"
    marker = item.get_closest_marker("emulator")
    if marker is not None and target.emulator is None:
        return f"{_why(marker)}: needs an emulator, and {backend} targets a deployed stage"
    return None


def _why(marker: pytest.Mark) -> str:
    return str(marker.args[0] if marker.args else marker.kwargs.get("reason", marker.name))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    backend_markers = ("emulator", "moto", "moto_in_process")
    marked = [i for i in items if any(i.get_closest_marker(m) for m in backend_markers)]
    if not marked:
        return  # nothing to decide: no need to look at the backend (or probe an endpoint)
    for item in marked:
        reason = skip_reason(item, target())
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
