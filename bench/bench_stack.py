"""The emulator the bench measures against: moto, the declared resources, the catalog, two users."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
import msgspec
from aiobotocore.session import get_session

from emulator.backends import Backend, start_backend
from emulator.jwt_authorizer import gateway_claims
from emulator.provision import function_environment, provision
from emulator.seed import seed_demo_data
from libs.domain_events import utc_now
from libs.resources.table import MAIN_TABLE
from libs.sealed_fields import FieldSealer
from libs.stack_outputs import StackOutputs
from services.orders.models import Order, OrderLine
from services.orders.order_table import order_item
from services.users import profile_table
from services.users.models import UpdateProfile
from services.users.profile_table import Sealing

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.type_defs import WriteRequestTypeDef

PASSWORD = "Correct-Horse-7"  # noqa: S105 - a throwaway user of the emulator
READER_ORDERS = 25  # more than a page (20): every GET /orders returns a full page and a cursor
# Orders are placed in a region of their own: moto answers a GSI query by scanning the whole
# table, so thousands of new orders in the read table would slow every later GET /orders.
WRITE_REGION = "eu-west-1"


@dataclass
class BenchStack:
    """A running emulator with the bench's data: what the probes need to call it."""

    backend: Backend
    outputs: StackOutputs
    environment: dict[str, str]  # the read endpoints' functions
    write_environment: dict[str, str]  # POST /orders's function: same resources, another region
    reader_claims: dict[str, str]  # has orders and a profile: the read endpoints' caller
    writer_claims: dict[str, str]  # places the orders
    order_id: str  # one of the reader's orders

    def stop(self) -> None:
        """Empty moto (its state outlives its server in this process), then stop it."""
        SERVICE_LATENCY.seconds = 0.0
        reset = urllib.request.Request(  # noqa: S310 - the bench's own http:// emulator
            f"{self.backend.endpoint_url}/moto-api/reset", method="POST"
        )
        try:
            with urllib.request.urlopen(reset, timeout=30):  # noqa: S310
                pass
        finally:
            self.backend.stop()

    def set_service_latency(self, milliseconds: float) -> None:
        """Make every AWS call to the emulator take at least this long (0: as fast as it can)."""
        SERVICE_LATENCY.seconds = milliseconds / 1000

    def clear_placed_orders(self) -> None:
        """Delete everything but the catalog from the write table (between blocks of POSTs)."""
        asyncio.run(_clear(self.backend.endpoint_url, self.write_environment["TABLE_NAME"]))


class ServiceLatency:
    """A fixed wait before moto answers each request, as a round trip to AWS would add.

    In AWS every call is a network round trip (single-digit milliseconds within a region); moto
    in this process answers in microseconds, so concurrent calls cannot show their overlap. The
    wait happens before moto's own handling (outside its DynamoDB lock), in the request's own
    server thread, so calls made at the same time wait at the same time.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """Wrap moto's WSGI application once (in this process)."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        with self._lock:
            if self._installed:
                return
            answer: Callable[..., Iterable[bytes]] = DomainDispatcherApplication.__call__

            @functools.wraps(answer)
            def delayed(
                app: Any, environ: dict[str, Any], start_response: Callable[..., Any]
            ) -> Iterable[bytes]:
                if self.seconds:
                    time.sleep(self.seconds)
                return answer(app, environ, start_response)

            setattr(DomainDispatcherApplication, "__call__", delayed)  # noqa: B010 - a method
            self._installed = True


SERVICE_LATENCY = ServiceLatency()


def start_bench_stack(*, tls: bool = False) -> BenchStack:
    """Start moto in this process, provision and seed it.

    ``tls=True``: the probes reach it over HTTPS and verify the local CA through
    ``AWS_CA_BUNDLE``, as functions reach AWS; the bench's own setup calls stay on plain HTTP.
    """
    SERVICE_LATENCY.install()
    SERVICE_LATENCY.seconds = 0.0
    backend = start_backend("moto", tls=tls)
    try:
        return asyncio.run(_prepare(backend))
    except BaseException:
        backend.stop()
        raise


async def _prepare(backend: Backend) -> BenchStack:
    outputs = await provision(backend.endpoint_url, backend.region)
    await seed_demo_data(outputs)
    writes = await provision(backend.endpoint_url, WRITE_REGION)
    await _without_stream(backend.endpoint_url, writes.table_name)
    await seed_demo_data(writes)
    options: dict[str, Any] = {"endpoint_url": outputs.aws_endpoint_url, "region_name": "us-east-1"}
    async with (
        get_session().create_client("cognito-idp", **options) as cognito,
        get_session().create_client("dynamodb", **options) as db,
        get_session().create_client("kms", **options) as kms,
    ):
        reader = await _signed_in_claims(cognito, outputs)
        writer = await _signed_in_claims(cognito, outputs)
        order_ids = []
        for _ in range(READER_ORDERS):
            order = _order(reader["sub"])
            await db.put_item(TableName=outputs.table_name, Item=order_item(order))
            order_ids.append(order.order_id)
        change = UpdateProfile(version=0, name="Reader", phone="+4915112345678")
        sealing = Sealing(FieldSealer(outputs.pii_key_arn), kms)
        await profile_table.update_profile(
            db, outputs.table_name, reader["sub"], change, sealing, now=utc_now()
        )
    return BenchStack(
        backend=backend,
        outputs=outputs,
        environment=function_environment(_as_probes_reach_it(outputs, backend)),
        write_environment=function_environment(_as_probes_reach_it(writes, backend)),
        reader_claims=reader,
        writer_claims=writer,
        order_id=order_ids[0],
    )


def _as_probes_reach_it(outputs: StackOutputs, backend: Backend) -> StackOutputs:
    """The outputs with the HTTPS endpoint and its CA bundle, when the backend serves TLS."""
    if backend.tls_endpoint_url is None:
        return outputs
    return msgspec.structs.replace(
        outputs, aws_endpoint_url=backend.tls_endpoint_url, aws_ca_bundle=backend.ca_bundle or ""
    )


async def _signed_in_claims(cognito: Any, outputs: StackOutputs) -> dict[str, str]:
    """A confirmed user's access-token claims, as the gateway's JWT authorizer passes them on."""
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    pool = outputs.user_pool_id
    await cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": "Bench User"},
        ],
        MessageAction="SUPPRESS",
    )
    await cognito.admin_set_user_password(
        UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True
    )
    tokens = await cognito.initiate_auth(
        ClientId=outputs.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    token = tokens["AuthenticationResult"]["AccessToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    converted: dict[str, str] = gateway_claims(claims)["claims"]
    return converted


def _order(user_id: str) -> Order:
    now = utc_now()
    lines = [
        OrderLine(product_id="usb-c-hub", name="USB-C hub", quantity=2, unit_price=3450),
        OrderLine(product_id="desk-lamp", name="Desk lamp", quantity=1, unit_price=5900),
    ]
    return Order(
        order_id=str(uuid.uuid4()),
        user_id=user_id,
        status="PENDING",
        items=lines,
        total=sum(line.quantity * line.unit_price for line in lines),
        currency="EUR",
        created_at=now,
        updated_at=now,
        version=1,
    )


async def _without_stream(endpoint_url: str, table: str) -> None:
    """Recreate the write table as declared, but without a stream.

    moto's TransactWriteItems deep-copies the whole table, stream records included, once per
    item: without a stream, and emptied between blocks, every POST costs the emulator the same.
    """

    def key_schema(keys: Any) -> list[Any]:
        return [
            {"AttributeName": keys.partition, "KeyType": "HASH"},
            {"AttributeName": keys.sort, "KeyType": "RANGE"},
        ]

    async with get_session().create_client(
        "dynamodb", endpoint_url=endpoint_url, region_name=WRITE_REGION
    ) as db:
        await db.delete_table(TableName=table)
        await db.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in MAIN_TABLE.attribute_names
            ],
            KeySchema=key_schema(MAIN_TABLE.keys),
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index.name,
                    "KeySchema": key_schema(index.keys),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in MAIN_TABLE.indexes
            ],
        )


async def _clear(endpoint_url: str, table: str) -> None:
    async with get_session().create_client(
        "dynamodb", endpoint_url=endpoint_url, region_name=WRITE_REGION
    ) as db:
        keys = []
        async for page in db.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="PK, SK"
        ):
            keys += [i for i in page["Items"] if not i["PK"]["S"].startswith("PRODUCT#")]
        for start in range(0, len(keys), 25):
            batch: list[WriteRequestTypeDef] = [
                {"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]
            ]
            await db.batch_write_item(RequestItems={table: batch})
