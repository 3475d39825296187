"""The outbox item format and the relay's translation of stream records into PutEvents entries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from libs.domain_events import OrderCreated, OrderLine, UserDeleted
from libs.outbox import (
    outbox_events,
    outbox_item,
    outbox_put,
    put_events_entries,
)
from libs.resources.table import MAIN_TABLE
from libs.single_table import Item

AN_ORDER = OrderCreated(
    order_id="o-1",
    user_id="u-1",
    total=3450,
    currency="EUR",
    items=(OrderLine(product_id="usb-c-hub", quantity=1, unit_price=3450),),
    correlation_id="corr-1",
)


def stream_record(event_name: str, new_image: Item | None, sequence: int = 1) -> dict[str, Any]:
    """A DynamoDB stream record as GetRecords (and Lambda) deliver it."""
    dynamodb: dict[str, Any] = {
        "SequenceNumber": str(sequence),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


def test_an_outbox_item_holds_the_event_as_published_and_expires() -> None:
    item = outbox_item(AN_ORDER, now=1_000_000)
    assert item["PK"] == {"S": f"OUTBOX#{AN_ORDER.event_id}"}
    assert item["SK"] == {"S": "EVENT"}
    assert item["source"] == {"S": "serverless-blueprint.orders"}
    assert item["detailType"] == {"S": "OrderCreated"}
    detail = json.loads(item["detail"]["S"])
    assert detail["eventId"] == AN_ORDER.event_id
    assert detail["correlationId"] == "corr-1"
    # A day: as long as the stream keeps the record that carries it to the relay
    assert item[MAIN_TABLE.ttl_attribute] == {"N": str(1_000_000 + 24 * 3600)}


def test_an_outbox_write_refuses_to_replace_an_event_with_the_same_id() -> None:
    put = outbox_put("table", AN_ORDER)["Put"]
    assert put["ConditionExpression"] == "attribute_not_exists(#pk)"
    assert put["ExpressionAttributeNames"] == {"#pk": "PK"}


def test_only_inserted_outbox_items_become_entries_in_stream_order() -> None:
    # Given the stream of a transaction (an order and its event), later changes and a TTL removal
    deleted = UserDeleted(user_id="u-2")
    records = [
        stream_record("INSERT", {"PK": {"S": "ORDER#o-1"}, "SK": {"S": "DETAILS"}}, 1),
        stream_record("INSERT", outbox_item(AN_ORDER), 2),
        stream_record("MODIFY", outbox_item(AN_ORDER), 3),
        stream_record("REMOVE", None, 4),
        stream_record("INSERT", outbox_item(deleted), 5),
    ]
    # When the relay translates them
    entries = put_events_entries(outbox_events(records), "the-bus")
    # Then exactly the two new events go to the bus, with their own source, type and time
    assert [(e["Source"], e["DetailType"]) for e in entries] == [
        ("serverless-blueprint.orders", "OrderCreated"),
        ("serverless-blueprint.users", "UserDeleted"),
    ]
    assert {e["EventBusName"] for e in entries} == {"the-bus"}
    assert json.loads(entries[0]["Detail"])["eventId"] == AN_ORDER.event_id
    occurred = datetime.fromisoformat(AN_ORDER.occurred_at)
    assert entries[0]["Time"] == occurred


def test_a_malformed_outbox_item_is_skipped_not_left_to_block_the_stream() -> None:
    broken: Item = {"PK": {"S": "OUTBOX#e-0"}, "SK": {"S": "EVENT"}, "detail": {"S": "{}"}}
    records = [
        stream_record("INSERT", broken, 1),
        stream_record("INSERT", outbox_item(AN_ORDER), 2),
    ]
    assert [e.event_id for e in outbox_events(records)] == [AN_ORDER.event_id]
