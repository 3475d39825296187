"""The internals of moto (and of the server it runs on) that the emulator's patches replace or
read, each with what the patch assumes of it and a fingerprint of the source it was written
against.

pyproject.toml holds moto to the series these patches were written for (5.2, from 5.2.5). Within
it a release may still change an internal: ``changes()`` then names the internal, the patch that
depends on it and what to check, and ``tests/emulator/test_moto_internals.py`` fails with that.
A fingerprint is the SHA-256 (first 16 hex digits) of the internal's source text, so an edit to
its code or comments counts: read the new source against ``relies_on``, adapt the patch if need
be, then put the new fingerprint here.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# The moto releases the patches were written for and checked against: pyproject.toml's range.
MOTO_REQUIREMENT: Final = ">=5.2.5,<5.3"


@dataclass(frozen=True, slots=True)
class MotoInternal:
    """One function or method of moto's (or werkzeug's) that a patch replaces or reads."""

    # "module:Qualified.name" where the patch assigns it (replaces) or reads it.
    target: str
    # The emulator module whose patch depends on it.
    patched_by: str
    # What the patch assumes of it: what to check when it changes.
    relies_on: str
    fingerprint: str
    # True: the patch assigns a replacement to ``target``; False: it only calls or reads it.
    replaced: bool = True
    # "module:Qualified.name" of the code itself, when ``target`` names it in another module
    # (a method inherited, a function imported).
    defined_at: str | None = None

    def source(self) -> str | None:
        """The internal's source text as installed; None when it is no longer there.

        For a module the target's module imports (``module:copy``), the module's every use of
        it, each with the function it is in: replacing the import changes those uses.
        """
        module, _, qualified_name = (self.defined_at or self.target).partition(":")
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            return None
        text = Path(spec.origin).read_text()
        tree = ast.parse(text)
        if qualified_name in _imported_modules(tree):
            return _uses(text, tree, qualified_name) or None
        node: ast.AST = tree
        for name in qualified_name.split("."):
            found = next(
                (
                    child
                    for child in ast.iter_child_nodes(node)
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and child.name == name
                ),
                None,
            )
            if found is None:
                return None
            node = found
        return ast.get_source_segment(text, node)

    def change(self) -> str | None:
        """Why the patch must be reviewed (the internal changed or went), or None."""
        source = self.source()
        where = f"{self.patched_by} {'replaces' if self.replaced else 'relies on'} {self.target}"
        if source is None:
            gone = "which the installed version no longer has"
            return f"{where}, {gone}. It relied on: {self.relies_on}"
        current = fingerprint(source)
        if current == self.fingerprint:
            return None
        return (
            f"{where}, whose source changed (fingerprint {current}, written against "
            f"{self.fingerprint}). Check that it still holds: {self.relies_on}; then adapt the "
            f"patch if need be and record the new fingerprint in emulator/moto_internals.py."
        )


def _imported_modules(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for statement in tree.body
        if isinstance(statement, ast.Import)
        for alias in statement.names
    }


def _uses(text: str, tree: ast.Module, name: str) -> str:
    """Each ``name.attribute`` in the module, as ``Function.qualname: source``, in order."""
    uses: list[str] = []

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{scope}.{child.name}" if scope else child.name
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == name
            ):
                parent_call = (
                    ast.get_source_segment(text, node) if isinstance(node, ast.Call) else None
                )
                uses.append(f"{scope}: {parent_call or ast.get_source_segment(text, child)}")
            visit(child, inner)

    visit(tree, "")
    return "\n".join(uses)


def fingerprint(source: str) -> str:
    """The first 16 hex digits of the source text's SHA-256."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


INTERNALS: Final = (
    MotoInternal(
        "moto.cognitoidp.models:CognitoIdpBackend._validate_password",
        "emulator.moto_cognito",
        "called as (self, user_pool_id, password); raises InvalidPasswordException for a "
        "password the pool's policy refuses, and for one of 99 characters or more",
        "3a3fe878dac55ab0",
    ),
    MotoInternal(
        "moto.kms.responses:KmsResponse.call_action",
        "emulator.moto_operations",
        "serves one KMS request per call (inherited from BaseResponse), whose headers carry "
        "X-Amz-Target, User-Agent and Host",
        "ce5f71add322c22a",
        defined_at="moto.core.responses:BaseResponse.call_action",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.get_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "1e3f33d84ae4056b",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.batch_get_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "6eb2ccd36e844d29",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.query",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "72569e3b7f25040d",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.scan",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "948483f434f85046",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.put_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "b423da53ae0e58f7",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.update_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "b99bd1628a4d300f",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.delete_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "d1f83e6bbb1a11aa",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.batch_write_item",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "13d3d7d08b0e0b13",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.transact_write_items",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "8df54bdc4fd9fa46",
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.transact_get_items",
        "emulator.moto_capacity",
        "takes only the handler, parses its request from self.body and returns the JSON answer "
        "as a string; its ConsumedCapacity, when asked for, is the one the patch replaces",
        "a381d65ef519e761",
    ),
    MotoInternal(
        "moto.cognitoidp.models:CognitoIdpBackend.confirm_forgot_password",
        "emulator.moto_cognito",
        "called as (self, client_id, username, ...) and answers an unknown username with "
        "ResourceNotFoundError; the backend's user_pools hold pools whose clients are keyed by id",
        "c95cbb0ca42b9f48",
    ),
    MotoInternal(
        "moto.cognitoidp.models:CognitoIdpUserPool._get_user",
        "emulator.moto_cognito",
        "returns None for a username (or alias) the pool does not have",
        "35d8283d97791827",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.responses:DynamoHandler.call_action",
        "emulator.moto_operations, emulator.moto_server",
        "serves one DynamoDB request per call on the handler, whose headers carry X-Amz-Target, "
        "User-Agent and Host",
        "26be2ac119a899ff",
    ),
    MotoInternal(
        "moto.dynamodbstreams.responses:DynamoDBStreamsHandler.call_action",
        "emulator.moto_server",
        "serves one DynamoDB Streams request per call (inherited from BaseResponse)",
        "ce5f71add322c22a",
        defined_at="moto.core.responses:BaseResponse.call_action",
    ),
    MotoInternal(
        "moto.core.common_models:BaseModel.__new__",
        "emulator.moto_memory",
        "does nothing but create the instance and append it to its class's instances_tracked",
        "7eb0527f63a33b49",
    ),
    MotoInternal(
        "moto.core.model_instances:reset_model_data",
        "emulator.moto_memory",
        "empties every model class's instances_tracked",
        "eb77cfa90f3a0c84",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models:DynamoDBBackend.transact_write_items",
        "emulator.moto_memory",
        "takes (self, transact_items); backs up each table it names with the module's "
        "copy.deepcopy and restores those copies on failure; raises only after undoing, or "
        "before writing",
        "c3c395e934006404",
    ),
    MotoInternal(
        "moto.dynamodb.models:copy",
        "emulator.moto_memory",
        "the module deep-copies a Table only for transact_write_items' backup (what the patch "
        "makes a no-op); its other copies, of items, still copy",
        "35d95479caf474a1",
    ),
    MotoInternal(
        "moto.dynamodb.models.table:StreamShard.__init__",
        "emulator.moto_memory",
        "keeps the records in the list items and numbers record i starting_sequence_number + i",
        "a39f231afac11d5b",
    ),
    MotoInternal(
        "moto.dynamodb.models.table:StreamShard.add",
        "emulator.moto_memory",
        "called as (self, old, new); appends one record to items, whose record carries "
        "dynamodb.ApproximateCreationDateTime as a datetime",
        "498b08ea3de09288",
    ),
    MotoInternal(
        "moto.dynamodb.models.table:StreamShard.get",
        "emulator.moto_memory",
        "called as (self, start, quantity); reads items from index start - "
        "starting_sequence_number",
        "82a67467fff9dfba",
    ),
    MotoInternal(
        "moto.dynamodbstreams.models:ShardIterator.__init__",
        "emulator.moto_memory",
        "called as (self, streams_backend, stream_shard, ...); the iterator has arn and "
        "stream_shard, and the backend registers it under its arn in shard_iterators",
        "c486ac198a0504c6",
    ),
    MotoInternal(
        "moto.dynamodbstreams.models:DynamoDBStreamsBackend.get_shard_iterator",
        "emulator.moto_memory",
        "called as (self, arn, shard_id, shard_iterator_type, sequence_number=None)",
        "a277e7124727a439",
    ),
    MotoInternal(
        "moto.dynamodbstreams.models:DynamoDBStreamsBackend.get_records",
        "emulator.moto_memory",
        "called as (self, iterator_arn, limit); reads shard_iterators[iterator_arn]",
        "ffaed392b1a71314",
    ),
    MotoInternal(
        "moto.dynamodbstreams.models:DynamoDBStreamsBackend._get_table_from_arn",
        "emulator.moto_memory",
        "returns the table (with its stream_shard) of a stream ARN",
        "2067fceeca63f837",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table.query",
        "emulator.moto_queries",
        "takes hash_key, hash_key_conditions and index_name by those names, reads the items it "
        "tests only through self.all_items(), and applies every condition, sort and page itself",
        "7c7c449c0d26f159",
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table.all_items",
        "emulator.moto_queries",
        "returns every item of the table: the query's candidates stand in for it during a query",
        "98389d15573959bc",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table.put_item",
        "emulator.moto_queries",
        "returns the item it stored in items (partition, then sort key)",
        "5f3a6f3029297f91",
    ),
    MotoInternal(
        "moto.dynamodb.models:DynamoDBBackend.update_item",
        "emulator.moto_queries",
        "called as (self, table_name, ...); updates the stored item in place and returns it",
        "d8e4e02a421005da",
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table._generate_attr_to_sort_by",
        "emulator.moto_queries",
        "the attributes a query sorts a partition by, most significant first (the index's hash "
        "and range keys, then the table's)",
        "4baf8ff4092f24a3",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table.sorted_items",
        "emulator.moto_queries",
        "sorts a query's candidates by the tuple of their values of those attributes, compared "
        "as DynamoType does (cast values): the kept order sorts the plain values the same way",
        "9e330e95fe997478",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models.table:Table._item_comes_before_dct",
        "emulator.moto_queries",
        "whether an item sorts before (or at) a start key in the direction read; it turns from "
        "True to False once along a sorted partition",
        "f81564b9a0909031",
        replaced=False,
    ),
    MotoInternal(
        "moto.dynamodb.models.dynamo_type:Item.__init__",
        "emulator.moto_speedups",
        "sets hash_key, range_key and attrs (a LimitedSizeDict of one DynamoType per attribute), "
        "refusing with ItemSizeTooLarge an item whose bytesize(name) + DynamoType.size() sum "
        "passes 405,000",
        "caee6822d9d9d597",
    ),
    MotoInternal(
        "moto.dynamodb.models.dynamo_type:DynamoType.cast_value",
        "emulator.moto_speedups",
        "a property: Decimal(value) for N, the value itself for S (after ruling out the other "
        "types), and something else only for the other types",
        "ff14d1d28f37b888",
    ),
    MotoInternal(
        "moto.moto_server.threaded_moto_server:DomainDispatcherApplication",
        "emulator.moto_bulk_put",
        "the WSGI application ThreadedMotoServer builds (looked up in this module when it "
        "starts), called as (create_backend_app)",
        "b0088aca3a69735e",
        defined_at="moto.moto_server.werkzeug_app:DomainDispatcherApplication",
    ),
    MotoInternal(
        "moto.backends:list_of_moto_modules",
        "emulator.moto_speedups",
        "lists moto's installed service packages, which cannot change while moto runs",
        "f7f966c4452733db",
    ),
    MotoInternal(
        "moto.core.responses:method_names_from_class",
        "emulator.moto_speedups",
        "depends on nothing but the class it is given",
        "dffccc6df0b3d020",
        defined_at="moto.core.utils:method_names_from_class",
    ),
    MotoInternal(
        "moto.core.serialize:BaseJSONSerializer._serialize_type_structure",
        "emulator.moto_speedups",
        "called as (self, serialized, value, shape, key) and writes "
        "serialized[get_serialized_name(shape, key)]; for an AttributeValue, the one member "
        "present as the value moto holds",
        "97fbd7964ee699f2",
    ),
    MotoInternal(
        "moto.core.serialize:BaseJSONSerializer._serialize_type_map",
        "emulator.moto_speedups",
        "called as (self, serialized, value, shape, key) and writes "
        "serialized[get_serialized_name(shape, key)] = a dict of each key's value serialized by "
        "shape.value's serializer",
        "c12fb175badd11b1",
    ),
    MotoInternal(
        "moto.dynamodb.models.utilities:dynamo_to_dict",
        "emulator.moto_speedups",
        "returns strings, numbers, booleans and None as they are, copies plain dicts and lists "
        "member by member, a DynamoType other than B and BS as {type: its value made plain}; "
        "recurses through this module's name",
        "658c88f9c8493716",
    ),
    MotoInternal(
        "moto.dynamodb.responses:dynamo_to_dict",
        "emulator.moto_speedups",
        "DynamoResult makes its result plain through this module's name",
        "658c88f9c8493716",
        defined_at="moto.dynamodb.models.utilities:dynamo_to_dict",
    ),
    MotoInternal(
        "moto.dynamodb.models.dynamo_type:DynamoType.size",
        "emulator.moto_speedups",
        "for N the length of str(value), for S bytesize(value) (after ruling out the other types)",
        "0fdfdf58038e52ea",
    ),
    MotoInternal(
        "moto.dynamodb.models.dynamo_type:Item.size",
        "emulator.moto_speedups",
        "the sum of bytesize(name) + value.size() over attrs",
        "574cf724b86a53a1",
    ),
    MotoInternal(
        "moto.dynamodb.models.dynamo_type:Item.__deepcopy__",
        "emulator.moto_speedups",
        "a new Item of copied hash_key, range_key and attrs (a LimitedSizeDict filled without "
        "its size check); a DynamoType is copied as a new one with the same type, and the same "
        "value when it is a string or boolean; an item has no other attribute",
        "7c0482b68ea7fa85",
    ),
    MotoInternal(
        "moto.moto_server.threaded_moto_server:MotoRequestHandler",
        "emulator.moto_speedups",
        "werkzeug's WSGIRequestHandler with moto's make_environ; ThreadedMotoServer looks it up "
        "in this module when it starts",
        "6948ee8ab419e735",
        defined_at="moto.moto_server.werkzeug_app:MotoRequestHandler",
    ),
    MotoInternal(
        "werkzeug.serving:WSGIRequestHandler.run_wsgi",
        "emulator.moto_speedups",
        "runs the app on make_environ()'s environ and writes its response; the kept-alive "
        "handler's run_wsgi does the same for a request with a declared length",
        "ad23ae3a6e7b2512",
        replaced=False,
    ),
    MotoInternal(
        "jsonpath_ng.ext:parse",
        "emulator.moto_speedups",
        "a pure function of the path: the same path always parses to an equal expression",
        "c313929598631cba",
        defined_at="jsonpath_ng.ext.parser:parse",
    ),
)


def changes(internals: tuple[MotoInternal, ...] = INTERNALS) -> list[str]:
    """What changed under the patches since they were written: one message per internal."""
    return [message for internal in internals if (message := internal.change()) is not None]
