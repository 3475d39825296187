"""`just dlq`: the consumer queues' DLQs (depth, messages, redrive) and the outbox relay's failures.

    just dlq                       each DLQ's depth, and the relay failure queue's
    just dlq show [QUEUE] [-n N]   the messages waiting in a DLQ (left in place)
    just dlq redrive [QUEUE]       move them back to their source queue, to be consumed again
    just dlq relay-failures [-n N] the batches the outbox relay gave up on: shard, range, when
    just dlq replay-relay [--dry-run] [-n N]
                                   read those ranges back from the stream, publish their events

QUEUE is a consumer queue's logical id or name (default: every one). The endpoint is the running
`just dev` (``.local/outputs.json``), or AWS itself with ``--aws [--env ENV]`` (credentials and
region from the usual AWS configuration; the deployed queues' names end in the environment).
Redrive is receive, send, delete: moto has no StartMessageMoveTask, and a message is deleted
from the DLQ only once its copy is on the source queue. A relay failure message is deleted only
once every event of its stream range is on the bus (``ops/relay_replay.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
from aiobotocore.session import get_session
from botocore.exceptions import EndpointConnectionError

from libs.resources.events import CONSUMER_QUEUES, EVENT_BUS, ConsumerQueue, DeadLetterQueue
from libs.resources.naming import named_failure_queue, named_queue, resource_name
from libs.stack_outputs import LOCAL_OUTPUTS, StackOutputs, stage_outputs
from ops import relay_replay

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

# How long a shown message stays hidden while the listing is read; then it is visible again.
_PEEK_SECONDS: Final = 10
# How long a message being redriven stays hidden: if the copy cannot be sent, it comes back.
_REDRIVE_SECONDS: Final = 30
_BATCH: Final = 10
# The commands about the outbox relay's failure queue rather than a consumer queue's DLQ.
RELAY_COMMANDS: Final = ("relay-failures", "replay-relay")


class DeadLetterDepth(msgspec.Struct, frozen=True):
    """How many messages wait in a consumer queue's DLQ."""

    queue: str
    dead_letter_queue: str
    waiting: int
    in_flight: int


async def depths(
    sqs: SQSClient, queues: Sequence[ConsumerQueue] = CONSUMER_QUEUES
) -> list[DeadLetterDepth]:
    """The depth of each queue's DLQ."""
    found = []
    for queue in queues:
        waiting, in_flight = await queue_depth(sqs, queue.dead_letter.name)
        found.append(
            DeadLetterDepth(
                queue=queue.name,
                dead_letter_queue=queue.dead_letter.name,
                waiting=waiting,
                in_flight=in_flight,
            )
        )
    return found


async def queue_depth(sqs: SQSClient, name: str) -> tuple[int, int]:
    """How many messages of the queue called ``name`` wait, and how many are being read."""
    attributes = (
        await sqs.get_queue_attributes(
            QueueUrl=await _url(sqs, name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
    )["Attributes"]
    return (
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


async def peek(sqs: SQSClient, queue: ConsumerQueue, limit: int) -> list[MessageTypeDef]:
    """Up to ``limit`` messages of the queue's DLQ, each once, made visible again afterwards."""
    url = await _url(sqs, queue.dead_letter.name)
    seen: list[MessageTypeDef] = []
    while len(seen) < limit:
        batch = await _receive(sqs, url, min(_BATCH, limit - len(seen)), _PEEK_SECONDS)
        if not batch:
            break
        seen += batch
    for start in range(0, len(seen), _BATCH):
        await sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(seen[start : start + _BATCH])
            ],
        )
    return seen


async def redrive(sqs: SQSClient, queue: ConsumerQueue, limit: int | None = None) -> int:
    """Move up to ``limit`` (default all) messages from the queue's DLQ back to it; how many."""
    source = await _url(sqs, queue.name)
    dead_letter = await _url(sqs, queue.dead_letter.name)
    moved = 0
    while limit is None or moved < limit:
        wanted = _BATCH if limit is None else min(_BATCH, limit - moved)
        batch = await _receive(sqs, dead_letter, wanted, _REDRIVE_SECONDS)
        if not batch:
            break
        sent = await sqs.send_message_batch(
            QueueUrl=source,
            Entries=[_copy(i, message) for i, message in enumerate(batch)],
        )
        # Only what the source queue accepted leaves the DLQ; the rest reappears there.
        accepted = [batch[int(entry["Id"])] for entry in sent.get("Successful", [])]
        if accepted:
            await sqs.delete_message_batch(
                QueueUrl=dead_letter,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(accepted)
                ],
            )
        moved += len(accepted)
        if len(accepted) < len(batch):
            raise RuntimeError(f"{queue.name} refused {len(batch) - len(accepted)} messages")
    return moved


def select(name: str | None) -> list[ConsumerQueue]:
    """The consumer queues named by logical id or name (all of them for None)."""
    if name is None:
        return list(CONSUMER_QUEUES)
    chosen = [q for q in CONSUMER_QUEUES if name in (q.logical_id, q.name, q.dead_letter.name)]
    if not chosen:
        known = ", ".join(q.logical_id for q in CONSUMER_QUEUES)
        raise SystemExit(f"no consumer queue {name!r}; declared: {known}")
    return chosen


def _copy(index: int, message: MessageTypeDef) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(index), "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = dict(message["MessageAttributes"])
    return entry


async def _url(sqs: SQSClient, name: str) -> str:
    return (await sqs.get_queue_url(QueueName=name))["QueueUrl"]


async def _receive(
    sqs: SQSClient, url: str, count: int, visibility_seconds: int
) -> list[MessageTypeDef]:
    response = await sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility_seconds,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


# -- the command line -------------------------------------------------------------------------


def client_options(use_aws: bool, outputs_path: Path) -> dict[str, Any]:
    """Where to send SQS calls: AWS's defaults, or the endpoint of a running `just dev`."""
    if use_aws:
        return {}
    if not outputs_path.exists():
        raise SystemExit(f"{outputs_path} not found: start `just dev`, or pass --aws")
    outputs = msgspec.json.decode(outputs_path.read_bytes(), type=StackOutputs)
    return {
        "endpoint_url": outputs.aws_endpoint_url,
        "region_name": outputs.region,
        # The emulator accepts any credentials; botocore only needs some to sign.
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        # A `just dev --tls` answers over HTTPS, verified with its local CA.
        **({"verify": outputs.aws_ca_bundle} if outputs.aws_ca_bundle else {}),
    }


def name_suffix(use_aws: bool, outputs_path: Path, env: str) -> str:
    """What the stack appends to every declared name: its outputs file's ``NameSuffix``.

    A deployed stage's outputs file is ``.local/outputs-<env>.json`` (`just deploy`); without
    one, its names end in the environment's name, as the stacks name them.
    """
    path = stage_outputs(env) if use_aws else outputs_path
    if not path.exists():
        return env if use_aws else ""
    return msgspec.json.decode(path.read_bytes(), type=StackOutputs).name_suffix


def describe(message: MessageTypeDef) -> str:
    """One DLQ message for a terminal: ids, receive count, and the event it carries."""
    attributes = message.get("Attributes", {})
    header = (
        f"{message['MessageId']}  received {attributes.get('ApproximateReceiveCount', '?')}x  "
        f"sent {attributes.get('SentTimestamp', '?')}"
    )
    try:
        body = json.dumps(json.loads(message["Body"]), indent=2)
    except ValueError:
        body = message["Body"]
    return f"{header}\n{body}"


async def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    parser = argparse.ArgumentParser(prog="just dlq", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", nargs="?", default="list", choices=["list", "show", "redrive", *RELAY_COMMANDS]
    )
    parser.add_argument("queue", nargs="?", help="a consumer queue's logical id or name")
    parser.add_argument("-n", "--limit", type=int, default=None, help="at most this many")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="replay-relay: read each range and count its events; publish and delete nothing",
    )
    parser.add_argument("--aws", action="store_true", help="use AWS, not the local emulator")
    parser.add_argument(
        "--env", default="dev", help="with --aws: the deployed environment (default dev)"
    )
    parser.add_argument("--outputs", type=Path, default=LOCAL_OUTPUTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    relay_command = arguments.command in RELAY_COMMANDS
    if relay_command and arguments.queue is not None:
        parser.error(f"{arguments.command} takes no QUEUE: it reads the relay's failure queue")
    if arguments.dry_run and arguments.command != "replay-relay":
        parser.error("--dry-run goes with replay-relay")
    options = client_options(arguments.aws, arguments.outputs)
    # The stack's names: a deployed stage's carry its environment, a test stack sharing an
    # endpoint its own suffix; the outputs file says which.
    suffix = name_suffix(arguments.aws, arguments.outputs, arguments.env)
    failures = named_failure_queue(relay_replay.RELAY_FAILURES, suffix)
    try:
        if relay_command:
            bus_name = resource_name(EVENT_BUS.name, suffix)
            return await _run_relay(arguments, failures, bus_name, options)
        queues = [named_queue(queue, suffix) for queue in select(arguments.queue)]
        # The relay failure queue is listed with the DLQs unless one consumer queue was named.
        await _run(
            arguments.command,
            queues,
            failures if arguments.queue is None else None,
            arguments.limit,
            options,
        )
    except EndpointConnectionError as error:
        print(f"{error}: is `just dev` running?", file=sys.stderr)
        return 1
    return 0


async def _run(
    command: str,
    queues: Sequence[ConsumerQueue],
    failures: DeadLetterQueue | None,
    limit: int | None,
    options: dict[str, Any],
) -> None:
    async with get_session().create_client("sqs", **options) as sqs:
        if command == "list":
            for depth in await depths(sqs, queues):
                print(
                    f"{depth.dead_letter_queue}: {depth.waiting} waiting, {depth.in_flight} "
                    f"in flight (redrives to {depth.queue})"
                )
            if failures is not None:
                waiting, in_flight = await queue_depth(sqs, failures.name)
                print(
                    f"{failures.name}: {waiting} waiting, {in_flight} in flight (outbox relay "
                    "batches given up on: `just dlq relay-failures`, `just dlq replay-relay`)"
                )
        elif command == "show":
            for queue in queues:
                messages = await peek(sqs, queue, limit or 10)
                print(f"{queue.dead_letter.name}: {len(messages)} shown")
                for message in messages:
                    print(describe(message))
        else:
            for queue in queues:
                moved = await redrive(sqs, queue, limit)
                print(f"{queue.dead_letter.name}: {moved} moved back to {queue.name}")


async def _run_relay(
    arguments: argparse.Namespace,
    failures: DeadLetterQueue,
    bus_name: str,
    options: dict[str, Any],
) -> int:
    """List or replay the relay's failure records; the exit status (1: some could not be)."""
    session = get_session()
    async with session.create_client("sqs", **options) as sqs:
        url = await _url(sqs, failures.name)
        if arguments.command == "relay-failures":
            messages = await relay_replay.pending_failures(sqs, url, arguments.limit)
            print(f"{failures.name}: {len(messages)} failure records")
            for message in messages:
                print(relay_replay.describe_failure(message))
            return 0
        async with (
            session.create_client("dynamodbstreams", **options) as streams,
            session.create_client("events", **options) as events,
        ):
            outcomes = await relay_replay.replay_failures(
                sqs,
                streams,
                events,
                queue_url=url,
                bus_name=bus_name,
                dry_run=arguments.dry_run,
                limit=arguments.limit,
            )
    for outcome in outcomes:
        print(relay_replay.describe_outcome(outcome))
    replayed = sum(outcome.deleted for outcome in outcomes)
    print(f"{failures.name}: {replayed} of {len(outcomes)} replayed onto {bus_name}")
    left = [o for o in outcomes if not o.deleted and o.verdict != "dry run"]
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
