"""How a declared resource name becomes the name of one deployed or local copy of it.

The CDK stacks qualify each name with the environment (``...-dev``); the emulator leaves names as
declared, or qualifies them with a suffix when several stacks share one endpoint (the test suite
beside a running `just dev`). Both apply the one rule here.
"""

from __future__ import annotations

import msgspec

from libs.resources.events import ConsumerQueue, DeadLetterQueue


def resource_name(declared: str, qualifier: str) -> str:
    """``declared`` as a copy qualified by ``qualifier`` names it (unchanged when it is empty)."""
    return f"{declared}-{qualifier}" if qualifier else declared


def named_queue(queue: ConsumerQueue, qualifier: str) -> ConsumerQueue:
    """A declared consumer queue and its DLQ, named as the copy ``qualifier`` names them."""
    dead_letter = msgspec.structs.replace(
        queue.dead_letter, name=resource_name(queue.dead_letter.name, qualifier)
    )
    return msgspec.structs.replace(
        queue, name=resource_name(queue.name, qualifier), dead_letter=dead_letter
    )


def named_failure_queue(queue: DeadLetterQueue, qualifier: str) -> DeadLetterQueue:
    """A declared stream failure queue, named as the copy ``qualifier`` names it."""
    return msgspec.structs.replace(queue, name=resource_name(queue.name, qualifier))
