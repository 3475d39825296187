"""`just dlq`: the dead-letter queues of the declared consumer queues: depth, messages, redrive.

    just dlq                       each DLQ's depth
    just dlq show [QUEUE] [-n N]   the messages waiting in a DLQ (left in place)
    just dlq redrive [QUEUE]       move them back to their source queue, to be consumed again

QUEUE is a consumer queue's logical id or name (default: every one). The endpoint is the running
`just dev` (``.local/outputs.json``), or AWS itself with ``--aws [--env ENV]`` (credentials and
region from the usual AWS configuration; the deployed queues' names end in the environment).
Redrive is receive, send, delete: moto has no StartMessageMoveTask, and a message is deleted
from the DLQ only once its copy is on the source queue.
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

from emulator.provision import StackOutputs, stack_queue
from libs.resources.events import CONSUMER_QUEUES, ConsumerQueue

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

DEFAULT_OUTPUTS: Final = Path(".local/outputs.json")
# How long a shown message stays hidden while the listing is read; then it is visible again.
_PEEK_SECONDS: Final = 10
# How long a message being redriven stays hidden: if the copy cannot be sent, it comes back.
_REDRIVE_SECONDS: Final = 30
_BATCH: Final = 10


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
        url = await _url(sqs, queue.dead_letter.name)
        attributes = (
            await sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
        )["Attributes"]
        found.append(
            DeadLetterDepth(
                queue=queue.name,
                dead_letter_queue=queue.dead_letter.name,
                waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return found


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
    }


def name_suffix(use_aws: bool, outputs_path: Path, env: str) -> str:
    """What the stack appends to every declared name: its outputs file's ``NameSuffix``.

    A deployed stage's outputs file is ``.local/outputs-<env>.json`` (`just deploy`); without
    one, its names end in the environment's name, as the stacks name them.
    """
    path = Path(f".local/outputs-{env}.json") if use_aws else outputs_path
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
    parser.add_argument("command", nargs="?", default="list", choices=["list", "show", "redrive"])
    parser.add_argument("queue", nargs="?", help="a consumer queue's logical id or name")
    parser.add_argument("-n", "--limit", type=int, default=None, help="at most this many")
    parser.add_argument("--aws", action="store_true", help="use AWS, not the local emulator")
    parser.add_argument(
        "--env", default="dev", help="with --aws: the deployed environment (default dev)"
    )
    parser.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    queues = select(arguments.queue)
    options = client_options(arguments.aws, arguments.outputs)
    # The stack's names: a deployed stage's carry its environment, a test stack sharing an
    # endpoint its own suffix; the outputs file says which.
    suffix = name_suffix(arguments.aws, arguments.outputs, arguments.env)
    queues = [stack_queue(queue, suffix) for queue in queues]
    try:
        await _run(arguments.command, queues, arguments.limit, options)
    except EndpointConnectionError as error:
        print(f"{error}: is `just dev` running?", file=sys.stderr)
        return 1
    return 0


async def _run(
    command: str, queues: Sequence[ConsumerQueue], limit: int | None, options: dict[str, Any]
) -> None:
    async with get_session().create_client("sqs", **options) as sqs:
        if command == "list":
            for depth in await depths(sqs, queues):
                print(
                    f"{depth.dead_letter_queue}: {depth.waiting} waiting, {depth.in_flight} "
                    f"in flight (redrives to {depth.queue})"
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


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
