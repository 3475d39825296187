"""The single DynamoDB table: names, keys and indexes."""

from __future__ import annotations

import msgspec


class KeySchema(msgspec.Struct, frozen=True):
    """Partition and sort key attribute names (both strings)."""

    partition: str
    sort: str


class GlobalIndex(msgspec.Struct, frozen=True):
    """A global secondary index projecting all attributes."""

    name: str
    keys: KeySchema


class TableDeclaration(msgspec.Struct, frozen=True):
    """What a table is, independent of who creates it."""

    logical_id: str
    keys: KeySchema
    indexes: tuple[GlobalIndex, ...]
    ttl_attribute: str
    stream_view: str

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


MAIN_TABLE = TableDeclaration(
    logical_id="MainTable",
    keys=KeySchema(partition="PK", sort="SK"),
    indexes=(GlobalIndex(name="GSI1", keys=KeySchema(partition="GSI1PK", sort="GSI1SK")),),
    ttl_attribute="expiresAt",
    stream_view="NEW_AND_OLD_IMAGES",
)
