"""A shop's worth of data in the local table, written in bulk (`just seed`, `--data large`).

Every item is built by the services' own item builders from the records the services would hold
(orders placed with an Idempotency-Key, their OrderCreated and OrderStatusChanged outbox items,
the notifications consumer's markers and notifications, profiles, the catalog), so the shapes,
keys and lifetimes are the ones the services write (``tests/integration/test_bulk_seed.py``).
Orders are spread over the last day, so no item has outlived its declared lifetime.

The items go to moto through its bulk-put route (``emulator.moto_bulk_put``): thousands a
request, without stream records, so the outbox relay does not publish the seeded history again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import aiohttp
import msgspec

from emulator.moto_bulk_put import BULK_PUT_PATH, BulkPut
from libs.domain_events import DomainEvent, OrderStatusChanged
from libs.outbox import outbox_item
from libs.single_table import Item
from libs.stack_outputs import LOCAL_OUTPUTS
from services.notifications.models import Preferences as NotificationPreferences
from services.notifications.models import ProcessedMarker, Recipient
from services.notifications.notification_table import marker_item, notification_item
from services.notifications.notifying import compose, deliveries
from services.orders.models import IdempotencyRecord, LineRequest, Order, OrderLine, PlaceOrder
from services.orders.order_table import idempotency_item, order_item
from services.orders.ordering import order_created, request_fingerprint
from services.products.catalog_table import product_item
from services.products.models import Product
from services.products.seed import CATALOG
from services.users.models import Preferences, StoredProfile
from services.users.profile_table import profile_item


@dataclass(frozen=True, slots=True)
class ShopSize:
    """How much a seeded shop holds."""

    orders: int
    users: int
    products: int


# `--data large`: a month of a small shop's orders, or a busy day's.
DATA_SETS: Final = {"large": ShopSize(orders=100_000, users=5_000, products=2_000)}
# Generated products go to the demo catalog's categories and a few more.
CATEGORIES: Final = ("electronics", "books", "office", "garden", "kitchen", "toys", "sports")
# Seeded orders are placed over the last day: every item written then is still alive.
SPAN_SECONDS: Final = 24 * 3600
# Shares of orders an admin confirmed, and of those, shipped.
CONFIRMED_SHARE: Final = 0.4
SHIPPED_SHARE: Final = 0.5
ITEMS_PER_REQUEST: Final = 2_000
CONCURRENT_REQUESTS: Final = 2


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a bulk seed wrote, and how fast."""

    size: ShopSize
    items: int
    seconds: float

    @property
    def items_per_second(self) -> float:
        """Items written per second of the whole seed."""
        return self.items / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        """One line for a console."""
        return (
            f"seeded {self.size.orders:,} orders, {self.size.users:,} users, "
            f"{self.size.products:,} products: {self.items:,} items in {self.seconds:.1f} s "
            f"({self.items_per_second:,.0f} items/s)"
        )


def iso(epoch: float) -> str:
    """Epoch seconds as the services write times: ISO 8601 UTC with milliseconds."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def epoch(timestamp: str) -> float:
    """An ISO 8601 time the services wrote, as epoch seconds."""
    return datetime.fromisoformat(timestamp).timestamp()


def order_items(
    order: Order,
    request: PlaceOrder,
    idempotency_key: str,
    events: Sequence[DomainEvent],
    recipient: Recipient,
) -> list[Item]:
    """What placing ``order`` with ``idempotency_key`` and its ``events`` left in the table.

    ``order`` as it is now; ``events`` its OrderCreated then each OrderStatusChanged, each one
    outbox item and, as the notifications consumer handles it, a marker and a notification on
    the channels ``recipient`` accepts. Each item's lifetime counts from when it was written.
    """
    placed = epoch(order.created_at)
    record = IdempotencyRecord(
        order_id=order.order_id,
        request_hash=request_fingerprint(request),
        created_at=order.created_at,
    )
    items = [
        order_item(order),
        idempotency_item(order.user_id, idempotency_key, record, now=placed),
    ]
    for event in events:
        written = epoch(event.occurred_at)
        items.append(outbox_item(event, now=written))
        marker = ProcessedMarker(
            event_id=event.event_id, detail_type=event.DETAIL_TYPE, processed_at=event.occurred_at
        )
        items.append(marker_item(marker, now=written))
        notification = compose(event)
        channels = [delivery.channel for delivery in deliveries(notification, recipient)]
        notification = msgspec.structs.replace(notification, channels=channels)
        items.append(notification_item(notification, now=written))
    return items


class ShopGenerator:
    """Shop data from a seed: the same seed, the same ids and choices (times count from now)."""

    def __init__(self, size: ShopSize, *, user_ids: Sequence[str] = (), seed: int = 7) -> None:
        self.size = size
        self._random = random.Random(seed)
        self._now = time.time()
        self.products = self._catalog()
        self.user_ids = list(user_ids)[: size.users]
        while len(self.user_ids) < size.users:
            self.user_ids.append(self._uuid())
        self.profiles = [self._profile(user_id) for user_id in self.user_ids]

    def items(self) -> Iterator[Item]:
        """Every item: the catalog, the profiles, then each order with what it left behind."""
        for product in self.products:
            yield product_item(product)
        recipients: dict[str, Recipient] = {}
        for profile in self.profiles:
            yield profile_item(profile)
            preferences = NotificationPreferences(
                email=profile.preferences.email, sms=profile.preferences.sms
            )
            recipients[profile.user_id] = Recipient(preferences=preferences, phone=profile.phone)
        for _ in range(self.size.orders):
            user_id = self._random.choice(self.user_ids)
            yield from self._order(user_id, recipients[user_id])

    def _catalog(self) -> list[Product]:
        products = list(CATALOG[: self.size.products])
        for number in range(self.size.products - len(products)):
            category = self._random.choice(CATEGORIES)
            products.append(
                Product(
                    product_id=f"{category}-{number:06d}",
                    name=f"{category.title()} item {number}",
                    description=f"Item {number} of the {category} range, seeded in bulk.",
                    category=category,
                    price=self._random.randint(199, 49_900),
                    currency="EUR",
                )
            )
        return products

    def _profile(self, user_id: str) -> StoredProfile:
        # Preferences only: the service seals personal fields (name, phone, address) per user
        # with a KMS data key, which a bulk load does not do.
        created = iso(self._now - SPAN_SECONDS - self._random.uniform(0, 90 * 24 * 3600))
        return StoredProfile(
            user_id=user_id,
            preferences=Preferences(email=self._random.random() >= 0.1, sms=False),
            created_at=created,
            updated_at=created,
            version=1,
        )

    def _order(self, user_id: str, recipient: Recipient) -> list[Item]:
        placed = self._now - self._random.uniform(60, SPAN_SECONDS)
        chosen = self._random.sample(self.products, k=self._random.randint(1, 3))
        request = PlaceOrder(
            items=[
                LineRequest(product_id=p.product_id, quantity=self._random.randint(1, 3))
                for p in chosen
            ]
        )
        lines = [
            OrderLine(
                product_id=product.product_id,
                name=product.name,
                quantity=line.quantity,
                unit_price=product.price,
            )
            for product, line in zip(chosen, request.items, strict=True)
        ]
        order = Order(
            order_id=self._uuid(),
            user_id=user_id,
            status="PENDING",
            items=lines,
            total=sum(line.unit_price * line.quantity for line in lines),
            currency="EUR",
            created_at=iso(placed),
            updated_at=iso(placed),
            version=1,
        )
        events: list[DomainEvent] = [
            msgspec.structs.replace(
                order_created(order), event_id=self._uuid(), occurred_at=order.created_at
            )
        ]
        moves = ["CONFIRMED"] if self._random.random() < CONFIRMED_SHARE else []
        if moves and self._random.random() < SHIPPED_SHARE:
            moves.append("SHIPPED")
        for status in moves:
            changed_at = iso(epoch(order.updated_at) + self._random.uniform(1, 59))
            events.append(
                OrderStatusChanged(
                    event_id=self._uuid(),
                    occurred_at=changed_at,
                    order_id=order.order_id,
                    user_id=user_id,
                    previous_status=order.status,
                    status=status,
                    version=order.version + 1,
                )
            )
            order = msgspec.structs.replace(
                order,
                status=status,
                version=order.version + 1,
                updated_at=changed_at,
            )
        return order_items(order, request, self._uuid(), events, recipient)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


async def bulk_put(
    endpoint_url: str,
    region: str,
    table: str,
    items: Iterator[Item],
    *,
    per_request: int = ITEMS_PER_REQUEST,
    concurrency: int = CONCURRENT_REQUESTS,
    ca_bundle: str | None = None,
) -> int:
    """Write ``items`` through moto's bulk-put route, a few requests at a time; how many.

    ``ca_bundle`` verifies an emulator served over HTTPS by a local CA.
    """
    url = endpoint_url.rstrip("/") + BULK_PUT_PATH
    written = 0
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=concurrency)
    connector = (
        aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_bundle))
        if ca_bundle
        else None
    )
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

        async def send() -> None:
            while (body := await queue.get()) is not None:
                async with http.post(url, data=body) as response:
                    if response.status != 200:
                        raise RuntimeError(
                            f"bulk put: HTTP {response.status}: {await response.text()}"
                        )

        senders = [asyncio.create_task(send()) for _ in range(concurrency)]

        async def hand_over(body: bytes | None) -> None:
            # Waits for room in the queue, unless a sender failed: then its error is raised.
            put = asyncio.ensure_future(queue.put(body))
            done, _ = await asyncio.wait([put, *senders], return_when=asyncio.FIRST_COMPLETED)
            if put not in done:
                put.cancel()
                for sender in senders:
                    if sender.done():
                        sender.result()
                raise RuntimeError("bulk put: a sender stopped")

        try:
            chunk: list[Item] = []
            for item in items:
                chunk.append(item)
                if len(chunk) == per_request:
                    await hand_over(_body(region, table, chunk))
                    written += len(chunk)
                    chunk = []
            if chunk:
                await hand_over(_body(region, table, chunk))
                written += len(chunk)
            for _ in senders:
                await queue.put(None)
            await asyncio.gather(*senders)
        finally:
            for sender in senders:
                sender.cancel()
    return written


def _body(region: str, table: str, items: list[Item]) -> bytes:
    return msgspec.json.encode(BulkPut(region=region, table=table, items=items))


async def seed_shop(
    endpoint_url: str,
    region: str,
    table: str,
    size: ShopSize,
    *,
    user_ids: Sequence[str] = (),
    seed: int = 7,
    ca_bundle: str | None = None,
) -> SeedReport:
    """Fill ``table`` at the moto at ``endpoint_url`` with a shop of ``size``.

    ``user_ids`` are among its users (e.g. accounts a load test logs in as), the rest made up.
    """
    started = time.monotonic()
    generator = ShopGenerator(size, user_ids=user_ids, seed=seed)
    written = await bulk_put(endpoint_url, region, table, generator.items(), ca_bundle=ca_bundle)
    return SeedReport(size=size, items=written, seconds=time.monotonic() - started)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="just seed", description=__doc__)
    parser.add_argument("--data", choices=sorted(DATA_SETS), help="a named size (sets the three)")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument(
        "--seed", type=int, default=7, help="the same seed gives the same ids, users and orders"
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        default=LOCAL_OUTPUTS,
        help="the running system's outputs (default: what `just dev` wrote)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    size = (
        DATA_SETS[args.data]
        if args.data
        else ShopSize(orders=args.orders, users=args.users, products=args.products)
    )
    outputs = json.loads(args.outputs.read_text())
    report = asyncio.run(
        seed_shop(
            outputs["AwsEndpointUrl"],
            outputs["Region"],
            outputs["TableName"],
            size,
            seed=args.seed,
            ca_bundle=outputs.get("AwsCaBundle") or None,
        )
    )
    print(report.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
