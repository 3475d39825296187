"""A shop's traffic: every route a shopper or an admin uses.

Shoppers browse (a category, the whole catalog, a product), log in and refresh their tokens,
order with idempotency keys, read and cancel their orders, read and change their profile, and
read their notifications. One admin edits products (PUT) and confirms orders (PATCH).

Users come from the JSON file in ``LOAD_USERS_FILE`` (created before the run through Cognito's
admin API, for speed; ``"admin": true`` marks the admins); each simulated user logs in through
the API when it starts. Requests are named by their route key, so the statistics line up with
the SLO declaration; a variant of a route carries a suffix, e.g. ``GET /products (all)``. With
``LOAD_TASKS_PER_USER`` set, each user runs that many tasks per second (a set total rate);
without, a shopper's pace.
A share of the catalog views (``LOAD_REVALIDATE_SHARE``) revalidate an answer seen before with
its ETag, as a browser or a cache whose copy went stale does; the counts of those and of their
304s go to ``LOAD_REVALIDATION_FILE`` when the run stops. Every request's response time, unrounded,
goes to ``LOAD_TIMINGS_FILE`` by request name (``loadtests.timings``).
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
_NEXT_SHOPPER = itertools.cycle([a for a in _ACCOUNTS if not a.get("admin")])
_NEXT_ADMIN = itertools.cycle([a for a in _ACCOUNTS if a.get("admin")] or _ACCOUNTS)
_TASKS_PER_USER = os.environ.get("LOAD_TASKS_PER_USER")
_REVALIDATE_SHARE = float(os.environ.get("LOAD_REVALIDATE_SHARE", "0"))
_REVALIDATION_FILE = os.environ.get("LOAD_REVALIDATION_FILE")
_TIMINGS_FILE = os.environ.get("LOAD_TIMINGS_FILE")
NOT_MODIFIED = 304
# This process's catalog reads, those sent with If-None-Match, and the 304s among them.
_CATALOG_COUNTS = {"catalogReads": 0, "revalidations": 0, "notModified": 0}


def _write_catalog_counts(**_: Any) -> None:
    if _REVALIDATION_FILE:
        with open(_REVALIDATION_FILE, "w") as file:
            json.dump(_CATALOG_COUNTS, file)


# This process's response times in ms, by request name, as measured (Locust's own are rounded).
_TIMINGS: dict[str, list[float]] = {}


def _note_time(name: str, response_time: float, **_: Any) -> None:
    _TIMINGS.setdefault(name, []).append(response_time)


def _write_timings(**_: Any) -> None:
    if _TIMINGS_FILE:
        with open(_TIMINGS_FILE, "w") as file:
            json.dump(_TIMINGS, file)


# Locust's event hooks are untyped; the listeners themselves are typed.
events.test_stop.add_listener(_write_catalog_counts)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_write_timings)  # type: ignore[no-untyped-call]
if _TIMINGS_FILE:
    events.request.add_listener(_note_time)  # type: ignore[no-untyped-call]


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


class ShopUser(FastHttpUser):
    """A signed-in user of the shop; what shoppers and admins share."""

    abstract = True
    wait_time = poisson_throughput(float(_TASKS_PER_USER)) if _TASKS_PER_USER else between(0.5, 1.5)
    accounts: itertools.cycle[dict[str, Any]] = _NEXT_SHOPPER

    def on_start(self) -> None:
        account = next(self.accounts)
        self.credentials = {"email": account["email"], "password": account["password"]}
        self.headers: dict[str, str] = {}
        self.refresh_token: str | None = None
        self.order_ids: list[str] = []
        self.etags: dict[str, str] = {}  # catalog path → the ETag of the answer last seen
        self.log_in()

    def log_in(self) -> None:
        """POST /auth/login: fresh tokens."""
        tokens = self._call("POST", "/auth/login", "POST /auth/login", json=self.credentials)
        if tokens:
            self.headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
            self.refresh_token = tokens.get("refreshToken")

    def browse_products(self) -> None:
        """A page of a category."""
        category = random.choice(CATEGORIES)
        self._read_catalog(f"/products?category={category}", "GET /products")

    def browse_catalog(self) -> None:
        """A page of the whole catalog, without a category."""
        self._read_catalog("/products?limit=20", "GET /products (all)")

    def view_product(self) -> None:
        """One product."""
        product = random.choice(PRODUCTS)
        self._read_catalog(f"/products/{product}", "GET /products/{productId}")

    def place_order(self) -> None:
        """POST /orders with an Idempotency-Key; remembers the order."""
        lines = random.sample(PRODUCTS, k=random.randint(1, 3))
        body = {"items": [{"productId": p, "quantity": random.randint(1, 3)} for p in lines]}
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        order = self._call("POST", "/orders", "POST /orders", json=body, headers=headers)
        if order:
            self.order_ids = [order["orderId"], *self.order_ids][:20]

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


class Shopper(ShopUser):
    """A logged-in customer: mostly browsing, sometimes ordering."""

    def on_start(self) -> None:
        super().on_start()
        self.profile_version: int | None = None  # unknown until read

    @task(6)
    def browse(self) -> None:
        self.browse_products()

    @task(4)
    def browse_all(self) -> None:
        self.browse_catalog()

    @task(8)
    def view(self) -> None:
        self.view_product()

    @task(3)
    def order(self) -> None:
        self.place_order()

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

    @task(1)
    def cancel_order(self) -> None:
        """PATCH /orders/{id}: the owner cancels their latest order (placing one first)."""
        if not self.order_ids:
            self.place_order()
        if not self.order_ids:
            return
        order_id = self.order_ids.pop(0)
        self._call(
            "PATCH",
            f"/orders/{order_id}",
            "PATCH /orders/{orderId}",
            json={"status": "CANCELLED"},
            headers=self.headers,
        )

    @task(2)
    def read_profile(self) -> None:
        profile = self._call("GET", "/users/me", "GET /users/me", headers=self.headers)
        if profile:
            self.profile_version = profile["version"]

    @task(1)
    def update_profile(self) -> None:
        if self.profile_version is None:
            self.read_profile()
        if self.profile_version is None:
            return
        body = {"version": self.profile_version, "preferences": {"sms": random.random() < 0.5}}
        profile = self._call("PUT", "/users/me", "PUT /users/me", json=body, headers=self.headers)
        if profile:
            self.profile_version = profile["version"]
        else:
            self.read_profile()  # changed elsewhere (a 409): read the version again

    @task(2)
    def list_notifications(self) -> None:
        self._call("GET", "/notifications", "GET /notifications", headers=self.headers)

    @task(1)
    def log_in_again(self) -> None:
        self.log_in()

    @task(1)
    def refresh(self) -> None:
        if self.refresh_token is None:
            return
        body = {"refreshToken": self.refresh_token}
        tokens = self._call("POST", "/auth/refresh", "POST /auth/refresh", json=body)
        if tokens:
            self.headers = {"Authorization": f"Bearer {tokens['accessToken']}"}


class Admin(ShopUser):
    """The shop's admin: edits products and moves orders on (one per run)."""

    fixed_count = 1
    accounts = _NEXT_ADMIN

    @task(3)
    def edit_product(self) -> None:
        """PUT /products/{id}: the product as read, written back (the catalog stays the same)."""
        product_id = random.choice(PRODUCTS)
        product = self._call("GET", f"/products/{product_id}", "GET /products/{productId}")
        if not product:
            return
        body = {k: product[k] for k in ("name", "category", "price", "currency", "description")}
        self._call(
            "PUT",
            f"/products/{product_id}",
            "PUT /products/{productId}",
            json=body,
            headers=self.headers,
        )

    @task(2)
    def confirm_order(self) -> None:
        """PATCH /orders/{id}: an order (the admin's own, placed first) moved to CONFIRMED."""
        self.place_order()
        if not self.order_ids:
            return
        self._call(
            "PATCH",
            f"/orders/{self.order_ids.pop(0)}",
            "PATCH /orders/{orderId}",
            json={"status": "CONFIRMED"},
            headers=self.headers,
        )

    @task(1)
    def browse_all(self) -> None:
        self.browse_catalog()
