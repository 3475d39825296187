"""Every list route's data access reads one bounded page: one Query with a Limit, no filter,
whatever else the table holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import get_session

from libs import table_keys
from libs.domain_events import utc_now
from libs.single_table import Page, to_item
from services.notifications import notification_table
from services.notifications.models import Notification
from services.orders import order_table
from services.products import catalog_table
from tests.integration.order_examples import an_order
from tests.integration.test_catalog_table import a_product
from tests.system_under_test import SystemUnderTest, client_options

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

PAGE = 5
# Far more than a page: a read loop that ran until a filter was satisfied would need many reads.
CROWD = 60


class Reads:
    """The DynamoDB calls a client made, by operation, with their parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((model.name, dict(params)))


@pytest.fixture
async def counted(stack: SystemUnderTest) -> AsyncIterator[tuple[DynamoDBClient, Reads]]:
    """A DynamoDB client whose every call is recorded before it is sent."""
    reads = Reads()
    async with get_session().create_client("dynamodb", **client_options(stack)) as client:
        client.meta.events.register("before-parameter-build.dynamodb.*", reads.record)
        yield client, reads


async def crowd_the_table(db: DynamoDBClient, table: str, user_id: str) -> None:
    """Give the user CROWD orders and CROWD notifications (same partitions as what is listed)."""
    for _ in range(CROWD):
        await order_table.insert_order(db, table, an_order(user_id), None)
        event_id = str(uuid.uuid4())
        notification = Notification(
            notification_id=event_id,
            user_id=user_id,
            kind="OrderCreated",
            title="Order placed",
            message="Thanks",
            created_at=utc_now(),
        )
        key = table_keys.notification_key(user_id, notification.created_at, event_id)
        await db.put_item(TableName=table, Item=to_item(notification, **key, entity="Notification"))


async def pages_of(
    reads: Reads, list_page: Callable[[str | None], Awaitable[Page[Any]]], pages: int
) -> list[list[tuple[str, dict[str, Any]]]]:
    """The calls each of ``pages`` consecutive pages made, following the cursors."""
    cursor: str | None = None
    calls_per_page = []
    for _ in range(pages):
        reads.calls.clear()
        page = await list_page(cursor)
        assert len(page.items) == PAGE
        calls_per_page.append(list(reads.calls))
        cursor = page.next_cursor
        assert cursor is not None
    return calls_per_page


def assert_one_bounded_query(calls: list[tuple[str, dict[str, Any]]]) -> None:
    ((operation, params),) = calls
    assert operation == "Query"
    assert params["Limit"] == PAGE + 1  # one more than the page, to know if another exists
    assert "FilterExpression" not in params


@pytest.mark.parametrize("listing", ["catalog", "category", "orders", "notifications"])
async def test_each_page_of_a_list_is_one_query_bounded_by_the_page(
    counted: tuple[DynamoDBClient, Reads], dynamodb: DynamoDBClient, table_name: str, listing: str
) -> None:
    # Given a user with many orders and notifications, and a category of a dozen products
    db, reads = counted
    user_id = f"reads-{uuid.uuid4().hex[:8]}"
    await crowd_the_table(dynamodb, table_name, user_id)
    category = f"reads-{uuid.uuid4().hex[:8]}"
    for _ in range(3 * PAGE):
        await catalog_table.create_product(dynamodb, table_name, a_product(category))
    pages: dict[str, Callable[[str | None], Awaitable[Page[Any]]]] = {
        "catalog": lambda cursor: catalog_table.list_products(
            db, table_name, category=None, limit=PAGE, cursor=cursor
        ),
        "category": lambda cursor: catalog_table.list_products(
            db, table_name, category=category, limit=PAGE, cursor=cursor
        ),
        "orders": lambda cursor: order_table.orders_of_user(
            db, table_name, user_id, limit=PAGE, cursor=cursor
        ),
        "notifications": lambda cursor: notification_table.notifications_of_user(
            db, table_name, user_id, limit=PAGE, cursor=cursor
        ),
    }
    # When two pages are read
    calls = await pages_of(reads, pages[listing], 2)
    # Then each page was one Query of at most a page and one item, with no filter to satisfy
    for page_calls in calls:
        assert_one_bounded_query(page_calls)
