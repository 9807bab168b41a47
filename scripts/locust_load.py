"""Locust users for `scripts/bench_load.py` (run by it, headless): a browse, search and checkout mix.

The plan (product ids, categories, queries, buyers' logins) comes from the JSON file named by
LOAD_PLAN; every request's kind and time, and the purchase number of every checkout that reached
its purchase page, go to the JSON file named by LOAD_RESULTS when the run stops.

With LOAD_BARE=1 every task asks for "/" alone: the same users against the bare Flask baseline.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re

from locust import HttpUser, constant, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
BARE = os.environ.get("LOAD_BARE") == "1"
ORDER_PAGE = re.compile(r"/orders/(KTT-[A-Z0-9-]+)$")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')

_buyers = itertools.cycle(PLAN["buyers"])
_timings: dict[str, list[float]] = {}
_failures: dict[str, int] = {}
_placed: list[str] = []


def _field(page: str, name: str) -> str | None:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page
    )
    return html.unescape(match.group(1)) if match else None


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    kind = name.split(":", 1)[0]
    _timings.setdefault(kind, []).append(response_time)
    if exception is not None:
        _failures[kind] = _failures.get(kind, 0) + 1


@events.test_stop.add_listener
def _write(environment, **kwargs):
    with open(os.environ["LOAD_RESULTS"], "w", encoding="utf-8") as fh:
        json.dump({"timings": _timings, "failures": _failures, "placed": _placed}, fh)


class Visitor(HttpUser):
    """A visitor who mostly browses, sometimes searches, and now and then buys (as a buyer of the plan)."""

    wait_time = constant(0)  # closed loop: each user sends its next request as soon as it has an answer

    def on_start(self) -> None:
        self.buyer = next(_buyers)
        self.logged_in = False

    @task(70)
    def browse(self) -> None:
        if BARE:
            self.client.get("/", name="browse")
            return
        where = random.random()
        if where < 1 / 3:
            self.client.get("/", name="browse")
        elif where < 2 / 3:
            self.client.get(f"/c/{random.choice(PLAN['categories'])}", name="browse")
        else:
            self.client.get(f"/p/{random.choice(PLAN['products'])}", name="browse")

    @task(25)
    def search(self) -> None:
        if BARE:
            self.client.get("/", name="search")
            return
        self.client.get("/search", params={"q": random.choice(PLAN["queries"])}, name="search")

    @task(5)
    def checkout(self) -> None:
        if BARE:
            self.client.get("/", name="checkout")
            return
        if not self.logged_in:
            page = self.client.get("/account/login", name="checkout-step: login form").text
            self.client.post(
                "/account/login",
                data={"csrf_token": _field(page, "csrf_token"), **self.buyer},
                name="checkout-step: log in",
            )
            self.logged_in = True
        product = random.choice(PLAN["checkout_products"])
        page = self.client.get(f"/p/{product}", name="checkout-step: product").text
        token = TOKEN.search(page)
        self.client.post(
            "/cart/add",
            data={"csrf_token": token.group(1) if token else "", "product_id": product, "quantity": 1},
            name="checkout-step: add to cart",
        )
        path = f"/checkout?province={PLAN['province']}"
        form = self.client.get(path, name="checkout-step: form").text
        with self.client.post(
            path,
            data={
                "csrf_token": _field(form, "csrf_token") or "",
                "contact_name": "Nguyễn Thị Lan",
                "phone": "0912 345 678",
                "ward_code": str(PLAN["ward"]),
                "street": "12 Nguyễn Đáng",
                "note": "",
                "payment_method": "cod",
                "idempotency_key": _field(form, "idempotency_key") or "",
                "expected_total": _field(form, "expected_total") or "",
            },
            name="checkout",
            catch_response=True,
        ) as response:
            match = ORDER_PAGE.search(response.url or "")
            if response.status_code == 200 and match:
                _placed.append(match.group(1))
                response.success()
            else:
                response.failure(f"no purchase page: HTTP {response.status_code} at {response.url}")
