"""What each reason of a cancelled transaction becomes, and when transact_write tries again."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest
from botocore.exceptions import ClientError

from libs import transactions
from libs.problems import TYPE_BASE
from libs.transactions import (
    ATTEMPTS,
    ConditionFailed,
    TransactionBusy,
    TransactionRefused,
    cancellation_codes,
    cancellation_error,
    transact_write,
)

if TYPE_CHECKING:
    from botocore.exceptions import _ClientErrorResponseTypeDef
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import TransactWriteItemTypeDef

# What is written does not matter here: the fake table refuses or takes any transaction.
ONE_PUT: list[TransactWriteItemTypeDef] = [{"Put": {"TableName": "t", "Item": {"PK": {"S": "a"}}}}]


def cancelled(*codes: str, listed: bool = True) -> _ClientErrorResponseTypeDef:
    """A TransactionCanceledException's parsed response, with or without CancellationReasons."""
    message = (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{', '.join(codes)}]"
    )
    response: _ClientErrorResponseTypeDef = {
        "Error": {"Code": "TransactionCanceledException", "Message": message}
    }
    if listed:
        response["CancellationReasons"] = [{"Code": code} for code in codes]
    return response


@pytest.mark.parametrize("listed", [True, False], ids=["reasons", "message-only"])
def test_the_codes_come_in_request_order(listed: bool) -> None:
    response = cancelled("None", "ConditionalCheckFailed", "None", listed=listed)
    assert cancellation_codes(response) == ["None", "ConditionalCheckFailed", "None"]


def test_a_response_naming_no_reason_has_no_codes() -> None:
    assert cancellation_codes({"Error": {"Message": "Transaction cancelled"}}) == []


def test_a_failed_condition_names_its_items_and_wins_over_contention() -> None:
    error = cancellation_error(["TransactionConflict", "ConditionalCheckFailed", "None"])
    assert isinstance(error, ConditionFailed)
    assert error.items == (1,)
    assert error.only(1)
    assert not error.only(0)


def test_an_unclaimed_failed_condition_is_a_503_with_retry_after() -> None:
    error = cancellation_error(["None", "ConditionalCheckFailed"])
    assert (error.status, error.slug) == (503, "service-unavailable")
    assert error.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "codes",
    [
        ["TransactionConflict", "None"],
        ["None", "ThrottlingError"],
        ["ProvisionedThroughputExceeded", "ThrottlingError"],
    ],
)
def test_contention_and_capacity_are_busy_503s_with_retry_after(codes: list[str]) -> None:
    error = cancellation_error(codes)
    assert isinstance(error, TransactionBusy)
    problem = error.to_problem()
    assert (problem.status, problem.type) == (503, TYPE_BASE + "service-unavailable")
    assert error.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "codes",
    [
        ["None", "ValidationError"],
        ["ItemCollectionSizeLimitExceeded"],
        ["TransactionConflict", "ValidationError"],
        ["None", "None"],
        [],
    ],
)
def test_any_other_reason_is_a_refusal_without_retry_after(codes: list[str]) -> None:
    error = cancellation_error(codes)
    assert isinstance(error, TransactionRefused)
    assert (error.status, error.slug) == (503, "service-unavailable")
    assert "Retry-After" not in error.headers


class Cancelled(ClientError):
    """Stands for the client's modeled TransactionCanceledException."""


class Exceptions:
    TransactionCanceledException = Cancelled


class CancellingTable:
    """A client whose first ``failures`` transactions are cancelled with ``codes``."""

    exceptions = Exceptions()

    def __init__(self, codes: list[str], failures: int) -> None:
        self.codes = codes
        self.failures = failures
        self.calls = 0

    async def transact_write_items(self, **request: object) -> dict[str, object]:
        self.calls += 1
        if self.calls <= self.failures:
            raise Cancelled(cancelled(*self.codes), "TransactWriteItems")
        return {}


def as_client(table: CancellingTable) -> DynamoDBClient:
    """The fake in the SDK client's place: it answers the one call transact_write makes."""
    return cast("DynamoDBClient", table)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transactions, "BACKOFF_BASE_SECONDS", 0.0)


async def test_a_passing_conflict_is_tried_again_and_written() -> None:
    table = CancellingTable(["TransactionConflict", "None"], failures=ATTEMPTS - 1)
    await transact_write(as_client(table), ONE_PUT)
    assert table.calls == ATTEMPTS


async def test_a_lasting_conflict_is_busy_after_every_attempt() -> None:
    table = CancellingTable(["TransactionConflict", "None"], failures=ATTEMPTS)
    with pytest.raises(TransactionBusy):
        await transact_write(as_client(table), ONE_PUT)
    assert table.calls == ATTEMPTS


@pytest.mark.parametrize(
    ("codes", "raised"),
    [
        (["ConditionalCheckFailed", "None"], ConditionFailed),
        (["ValidationError"], TransactionRefused),
    ],
)
async def test_a_condition_or_a_refusal_is_raised_at_once(
    codes: list[str], raised: type[Exception]
) -> None:
    table = CancellingTable(codes, failures=ATTEMPTS)
    with pytest.raises(raised):
        await transact_write(as_client(table), ONE_PUT)
    assert table.calls == 1
