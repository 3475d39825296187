"""TransactWriteItems, answered by why it was cancelled.

DynamoDB cancels a whole transaction, writing nothing, and says why item by item in
``CancellationReasons``. Only the caller knows which item carries its business condition, so
``transact_write`` raises what the reasons mean and each call site turns a failed condition on
its own item into its domain answer (a replay, a 409); the rest is decided here, once:

- ``ConditionalCheckFailed`` on some items: ``ConditionFailed`` naming them;
- only ``TransactionConflict``, ``ThrottlingError`` or ``ProvisionedThroughputExceeded``, after
  ``ATTEMPTS`` tries: ``TransactionBusy``, a 503 ``service-unavailable`` with ``Retry-After``;
- any other (``ValidationError``, ``ItemCollectionSizeLimitExceeded``): ``TransactionRefused``,
  a 503 without ``Retry-After``, since the same request would be refused again.

botocore does not retry a cancelled transaction (only a throttled *request*, as
``ThrottlingException``), so a busy cancellation is tried again here: nothing was written, so
sending the same items again is safe, and the conditions are evaluated afresh.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from libs.problems import InvalidParam, ServiceUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import TransactWriteItemTypeDef

CONDITION_FAILED: Final = "ConditionalCheckFailed"
# Another writer, or capacity: the same transaction can succeed a moment later.
BUSY_CODES: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
NO_REASON: Final = "None"
# Tries in all for a busy cancellation, as the clients' own retries (libs/aws_clients.py).
ATTEMPTS: Final = 3
# Full jitter on an exponential base: 0-50 ms, then 0-100 ms; short beside any function timeout.
BACKOFF_BASE_SECONDS: Final = 0.05
RETRY_AFTER_SECONDS: Final = "1"
_REASONS_IN_MESSAGE: Final = re.compile(r"\[([^\]]*)\]\s*$")


class ConditionFailed(ServiceUnavailable):
    """The condition of one or more items failed; ``items`` are their indexes in the request.

    A call site catches it for the item whose condition is its business rule. Left uncaught (a
    condition nobody expects to fail, such as an outbox item's new event id) it is a 503 with
    Retry-After: the request is sound and a retry makes new ids.
    """

    def __init__(
        self,
        detail: str | None = None,
        *,
        items: Sequence[int] = (),
        invalid_params: list[InvalidParam] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            detail or "The data changed while the request was written; retry shortly",
            invalid_params=invalid_params,
            headers={"Retry-After": RETRY_AFTER_SECONDS} if headers is None else headers,
        )
        self.items = tuple(items)

    def only(self, index: int) -> bool:
        """Whether the item at ``index`` is the one (and only one) whose condition failed."""
        return self.items == (index,)


class TransactionBusy(ServiceUnavailable):
    """Cancelled for contention or capacity, ``ATTEMPTS`` times: a 503 with Retry-After."""


class TransactionRefused(ServiceUnavailable):
    """Cancelled for a reason no retry cures (e.g. ``ValidationError``): a 503, no Retry-After."""


def cancellation_codes(response: Mapping[str, Any]) -> list[str]:
    """The reason code of each item of a cancelled transaction, in request order.

    From ``CancellationReasons``, or from the message's ``[...]`` list when it is absent.
    """
    reasons = response.get("CancellationReasons")
    if reasons:
        return [str(reason.get("Code") or NO_REASON) for reason in reasons]
    message = str(response.get("Error", {}).get("Message", ""))
    listed = _REASONS_IN_MESSAGE.search(message)
    if listed is None:
        return []
    return [code.strip() or NO_REASON for code in listed[1].split(",")]


def cancellation_error(codes: Sequence[str]) -> ServiceUnavailable:
    """What a cancellation with these reason codes means (see the module's table)."""
    failed = [index for index, code in enumerate(codes) if code == CONDITION_FAILED]
    if failed:
        return ConditionFailed(items=failed)
    reasons = {code for code in codes if code != NO_REASON}
    if reasons and reasons <= BUSY_CODES:
        return TransactionBusy(
            f"The table is busy ({', '.join(sorted(reasons))}); retry shortly",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    named = ", ".join(sorted(reasons)) or "no reason given"
    return TransactionRefused(f"The table refused the write ({named})")


async def transact_write(db: DynamoDBClient, items: Sequence[TransactWriteItemTypeDef]) -> None:
    """Write ``items`` in one transaction; raise what a cancellation means, nothing written."""
    for attempt in range(ATTEMPTS):
        try:
            await db.transact_write_items(TransactItems=list(items))
        except db.exceptions.TransactionCanceledException as cancelled:
            error = cancellation_error(cancellation_codes(cancelled.response))
            if not isinstance(error, TransactionBusy) or attempt == ATTEMPTS - 1:
                raise error from cancelled
            await asyncio.sleep(random.uniform(0, BACKOFF_BASE_SECONDS * 2**attempt))
        else:
            return
