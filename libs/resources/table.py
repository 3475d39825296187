"""The single DynamoDB table: names, keys and indexes."""

from __future__ import annotations

from typing import Literal

import msgspec

# What a change's stream record carries (DynamoDB's StreamViewType).
StreamView = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


class KeySchema(msgspec.Struct, frozen=True):
    """Partition and sort key attribute names (both strings)."""

    partition: str
    sort: str


class GlobalIndex(msgspec.Struct, frozen=True):
    """A global secondary index projecting all attributes."""

    name: str
    keys: KeySchema


class ItemLifetime(msgspec.Struct, frozen=True):
    """How long one kind of item stays: ``ttl_seconds`` after each write, or kept (None)."""

    entity: str
    ttl_seconds: int | None
    reason: str


class TableDeclaration(msgspec.Struct, frozen=True):
    """What a table is, independent of who creates it."""

    logical_id: str
    keys: KeySchema
    indexes: tuple[GlobalIndex, ...]
    ttl_attribute: str
    stream_view: StreamView
    lifetimes: tuple[ItemLifetime, ...] = ()

    def lifetime(self, entity: str) -> ItemLifetime:
        """The declared lifetime of the items whose ``entity`` attribute is ``entity``."""
        for lifetime in self.lifetimes:
            if lifetime.entity == entity:
                return lifetime
        raise KeyError(f"no lifetime declared for {entity!r} items")

    def index(self, name: str) -> GlobalIndex:
        """The index called ``name``."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(name)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Every key attribute of the table and its indexes, in declaration order."""
        names = [self.keys.partition, self.keys.sort]
        for index in self.indexes:
            names += [index.keys.partition, index.keys.sort]
        return tuple(dict.fromkeys(names))


_DAY = 24 * 3600

MAIN_TABLE = TableDeclaration(
    logical_id="MainTable",
    keys=KeySchema(partition="PK", sort="SK"),
    indexes=(
        GlobalIndex(name="GSI1", keys=KeySchema(partition="GSI1PK", sort="GSI1SK")),
        # Sparse: only products carry GSI2PK, so the index holds the catalog and nothing else.
        GlobalIndex(name="GSI2", keys=KeySchema(partition="GSI2PK", sort="GSI2SK")),
    ),
    ttl_attribute="expiresAt",
    stream_view="NEW_AND_OLD_IMAGES",
    lifetimes=(
        ItemLifetime("Product", None, "the catalog: removed by an admin, never by age"),
        ItemLifetime("Order", None, "a record of sale: the business's retention rules apply"),
        ItemLifetime("Profile", None, "the user's own data: removed with the account"),
        ItemLifetime("IdempotencyRecord", 1 * _DAY, "a client retries within minutes"),
        ItemLifetime("OutboxEvent", 1 * _DAY, "a stream record lives 24 h; then no relay sees it"),
        ItemLifetime("ProcessedMarker", 15 * _DAY, "outlives 14 days in a DLQ, then a redrive"),
        ItemLifetime("Notification", 180 * _DAY, "history after half a year"),
    ),
)
"""The single table. Keys per item kind: ``libs/table_keys.py``; sizes and growth: docs/data.md.

Access patterns, each one GetItem or one Query with a Limit (no request path scans):

| pattern                       | read                                                     |
|-------------------------------|----------------------------------------------------------|
| a product, an order, a profile| GetItem on the table key                                 |
| a category's products         | Query GSI1, GSI1PK = CATEGORY#<category>                 |
| the whole catalog             | Query GSI2, GSI2PK = PRODUCTS (sparse: products only)    |
| a user's orders, newest first | Query GSI1, GSI1PK = USER#<userId>, GSI1SK ORDER#...     |
| a user's notifications        | Query table, PK = USER#<userId>, SK NOTIF#...            |

The whole catalog is one GSI2 partition, not sharded. A page of 20 products reads 21 items of
~300 bytes (~6.3 KB): 1 read unit eventually consistent (0.5 per 4 KB started), so one
partition's 3,000 RCU serve ~3,000 catalog pages a second (~7.8 billion a month, against the
plan's 1 million requests a month). Writes to it are admin edits, one write unit each, a few a
day against 1,000 WCU a second. A GSI partition has no size limit (the 10 GB one binds local
indexes). Shard it (GSI2PK = PRODUCTS#<n>, merge n pages) only when catalog reads near 3,000
pages a second, which a CDN in front of this public route would absorb first: sharding makes
every page n reads.

Lifetimes: every item carries ``entity``; its declared lifetime sets ``expiresAt`` (epoch
seconds) on each write, or none for the kinds kept.
"""
