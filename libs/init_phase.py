"""A Lambda container's init phase: the garbage collector held back while the modules load.

Loading a function's modules allocates ~60,000 long-lived objects and almost no garbage, yet with
the default thresholds the cyclic collector runs ~130 times over the growing heap meanwhile, one
of them a full collection: ~30 ms of a ~300 ms init. Importing this module first (in Lambda only)
raises the first generation's threshold so the collector barely runs during init; ``end_init``
(at the first invocation, or before a SnapStart snapshot) moves everything init created out of
the collector's sight (``gc.freeze``: warm invocations never scan it again) and restores the
thresholds. Should ``end_init`` never run, the collector still runs, only less often.

It also imports aiohttp (which every function loads through aiobotocore) without the CA bundle
loads of its import-time TLS contexts: ``libs/aiohttp_tls.py``.
"""

from __future__ import annotations

import gc
import os

from libs.aiohttp_tls import import_aiohttp

# First-generation allocations between collections during init (the default is 700).
INIT_THRESHOLD = 100_000

_thresholds_after_init: tuple[int, int, int] | None = None


def begin_init() -> None:
    """Hold the collector back (idempotent); only in a Lambda container."""
    global _thresholds_after_init
    if _thresholds_after_init is not None or not os.environ.get("LAMBDA_TASK_ROOT"):
        return
    _thresholds_after_init = gc.get_threshold()
    gc.set_threshold(INIT_THRESHOLD, *_thresholds_after_init[1:])


def end_init(*, collect: bool = False) -> None:
    """Freeze what init created and restore the thresholds (idempotent).

    ``collect``: first free init's garbage (worth it only where the time is not waited on, as
    before a snapshot).
    """
    global _thresholds_after_init
    if _thresholds_after_init is None:
        return
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(*_thresholds_after_init)
    _thresholds_after_init = None


begin_init()
import_aiohttp()
