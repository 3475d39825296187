"""Every embeddable backend provisions the declared stack the same way.

LocalStack needs a Docker engine: where none runs, its half of the matrix is skipped with the
reason, so `just test` shows what was not covered instead of passing it silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from aiobotocore.session import get_session

from emulator.backends import Backend, BackendUnavailable, ClientOptions, start_backend
from emulator.provision import provision
from libs.resources.table import MAIN_TABLE


@pytest.fixture(params=["moto", "localstack"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    try:
        started = start_backend(request.param)
    except BackendUnavailable as unavailable:
        pytest.skip(str(unavailable))
    yield started
    started.stop()


async def test_each_backend_provisions_the_declared_table_and_queues(backend: Backend) -> None:
    # Given a stack of its own on the backend
    suffix = f"matrix-{uuid.uuid4().hex[:8]}"
    outputs = await provision(backend.endpoint_url, backend.region, suffix)
    options: ClientOptions = {
        "endpoint_url": backend.endpoint_url,
        "region_name": backend.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    session = get_session()
    async with (
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("sqs", **options) as sqs,
    ):
        # When its table is described and a message goes through one of its queues
        table = (await dynamodb.describe_table(TableName=outputs.table_name))["Table"]
        queues = (await sqs.list_queues(QueueNamePrefix="serverless-blueprint"))["QueueUrls"]
        ours = [url for url in queues if url.endswith(suffix)]
        await sqs.send_message(QueueUrl=ours[0], MessageBody="ping")
        received = await sqs.receive_message(QueueUrl=ours[0], WaitTimeSeconds=1)
    # Then the table has the declared keys and index, and the queue delivers
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    assert keys == {MAIN_TABLE.keys.partition: "HASH", MAIN_TABLE.keys.sort: "RANGE"}
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [
        index.name for index in MAIN_TABLE.indexes
    ]
    assert table["StreamSpecification"]["StreamViewType"] == MAIN_TABLE.stream_view
    assert ours
    assert [m["Body"] for m in received["Messages"]] == ["ping"]
