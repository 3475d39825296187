"""A shop's traffic: browse, log in once, order with idempotency keys, read orders, profile, inbox.

Users come from the JSON file in ``LOAD_USERS_FILE`` (created before the run through Cognito's
admin API, for speed); each simulated user logs in once through the API. Requests are named by
their route key, so the statistics line up with the SLO declaration. With ``LOAD_TASKS_PER_USER``
set, each user runs that many tasks per second (a set total rate); without, a shopper's pace.
A share of the catalog views (``LOAD_REVALIDATE_SHARE``) revalidate an answer seen before with
its ETag, as a browser or a cache whose copy went stale does; the counts of those and of their
304s go to ``LOAD_REVALIDATION_FILE`` when the run stops.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, User, between, events, task

PRODUCTS = (
    "mechanical-keyboard",
    "usb-c-hub",
    "noise-cancelling-headphones",
    "serverless-patterns",
    "python-concurrency",
    "dynamodb-book",
    "desk-lamp",
    "notebook-a5",
)
CATEGORIES = ("electronics", "books", "office")
_ACCOUNTS = json.loads(open(os.environ["LOAD_USERS_FILE"]).read())  # noqa: SIM115
_NEXT_ACCOUNT = itertools.cycle(_ACCOUNTS)
_TASKS_PER_USER = os.environ.get("LOAD_TASKS_PER_USER")
_REVALIDATE_SHARE = float(os.environ.get("LOAD_REVALIDATE_SHARE", "0"))
_REVALIDATION_FILE = os.environ.get("LOAD_REVALIDATION_FILE")
NOT_MODIFIED = 304
# This process's catalog reads, those sent with If-None-Match, and the 304s among them.
_CATALOG_COUNTS = {"catalogReads": 0, "revalidations": 0, "notModified": 0}


def _write_catalog_counts(**_: Any) -> None:
    if _REVALIDATION_FILE:
        with open(_REVALIDATION_FILE, "w") as file:
            json.dump(_CATALOG_COUNTS, file)


# Locust's event hooks are untyped; the listener itself is typed.
events.test_stop.add_listener(_write_catalog_counts)  # type: ignore[no-untyped-call]


def poisson_throughput(tasks_per_second: float) -> Callable[[User], float]:
    """Tasks started at random (exponential) intervals averaging ``tasks_per_second``.

    Like Locust's constant_throughput, the wait counts from the last task's start, so slow
    answers do not lower the rate until they outlast the interval; unlike it, users do not stay
    in step: at a fixed interval, users started together fire together, in bursts.
    """

    def wait_time(user: User) -> float:
        now = time.monotonic()
        started: float = vars(user).get("_task_started", now)
        next_start = max(now, started + random.expovariate(tasks_per_second))
        vars(user)["_task_started"] = next_start
        return next_start - now

    return wait_time


class Shopper(FastHttpUser):
    """A logged-in customer: mostly browsing, sometimes ordering."""

    wait_time = poisson_throughput(float(_TASKS_PER_USER)) if _TASKS_PER_USER else between(0.5, 1.5)

    def on_start(self) -> None:
        account = next(_NEXT_ACCOUNT)
        tokens = self._call("POST", "/auth/login", "POST /auth/login", json=account)
        self.headers = {"Authorization": f"Bearer {tokens['accessToken']}"} if tokens else {}
        self.order_ids: list[str] = []
        self.etags: dict[str, str] = {}  # catalog path → the ETag of the answer last seen

    @task(10)
    def browse_products(self) -> None:
        category = random.choice(CATEGORIES)
        self._read_catalog(f"/products?category={category}", "GET /products")

    @task(8)
    def view_product(self) -> None:
        product = random.choice(PRODUCTS)
        self._read_catalog(f"/products/{product}", "GET /products/{productId}")

    @task(3)
    def place_order(self) -> None:
        lines = random.sample(PRODUCTS, k=random.randint(1, 3))
        body = {"items": [{"productId": p, "quantity": random.randint(1, 3)} for p in lines]}
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        order = self._call("POST", "/orders", "POST /orders", json=body, headers=headers)
        if order:
            self.order_ids = [order["orderId"], *self.order_ids][:20]

    @task(4)
    def list_orders(self) -> None:
        self._call("GET", "/orders?limit=10", "GET /orders", headers=self.headers)

    @task(3)
    def read_order(self) -> None:
        if not self.order_ids:
            self.list_orders()  # nothing ordered yet: look at the (empty) list instead
            return
        order_id = random.choice(self.order_ids)
        self._call("GET", f"/orders/{order_id}", "GET /orders/{orderId}", headers=self.headers)

    @task(2)
    def read_profile(self) -> None:
        self._call("GET", "/users/me", "GET /users/me", headers=self.headers)

    @task(2)
    def list_notifications(self) -> None:
        self._call("GET", "/notifications", "GET /notifications", headers=self.headers)

    def _read_catalog(self, path: str, name: str) -> None:
        """A catalog view; with its ETag known, revalidated at the declared share."""
        etag = self.etags.get(path)
        revalidate = etag is not None and random.random() < _REVALIDATE_SHARE
        headers = {"If-None-Match": etag} if revalidate and etag else {}
        with self.client.request(
            "GET", path, name=name, headers=headers, catch_response=True
        ) as response:
            _CATALOG_COUNTS["catalogReads"] += 1
            _CATALOG_COUNTS["revalidations"] += bool(headers)
            if response.status_code == NOT_MODIFIED and headers:
                _CATALOG_COUNTS["notModified"] += 1
                response.success()
            elif 200 <= response.status_code < 300:
                if response.headers.get("ETag"):
                    self.etags[path] = response.headers["ETag"]
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    def _call(self, method: str, path: str, name: str, **options: Any) -> Any:
        """The JSON answer, or None; any non-2xx is a failure named by its status."""
        with self.client.request(method, path, name=name, catch_response=True, **options) as r:
            if not 200 <= r.status_code < 300:
                r.failure(f"HTTP {r.status_code}")
                return None
            r.success()
            return r.json() if r.content else None
