"""A stream of buyers checking out while something breaks, and the verdict on each checkout.

Each checkout ends, from the buyer's side, on the purchase page, on one of our error pages, on a
broken connection, or on something else. After recovery the database and the mailbox say what really
happened, and every checkout is counted once:

- succeeded: the purchase is whole (one order per cooperative, every line) and the buyer was told,
  by the purchase page or, when the page was an error, by the receipt e-mail;
- failed cleanly: nothing is stored for its form, and the buyer saw our error page or a broken connection;
- lost: anything else (an order nobody was told of, half a purchase, an error page over a stored
  purchase without its e-mail, a page we do not recognise). Stock taken without an order, and an
  e-mail missing or arriving twice (two distinct Message-IDs) for a stored purchase, count as lost too.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from sqlalchemy import select

from tests.support.shopper import PROVINCE, WARD, Shopper, hidden

from .summary import KEY

ORDER_PAGE = re.compile(r"/orders/(KTT-[A-Z0-9-]+)$")


@dataclass
class Attempt:
    buyer: str
    key: str | None = None  # the checkout form's idempotency key, once the form was loaded
    seen: str = "other"  # "page", "error page", "reset" or "other", as the buyer saw it
    number: str | None = None
    detail: str = ""


@dataclass
class Tally:
    name: str
    sent: int = 0
    succeeded: int = 0
    failed_cleanly: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)
    repeats: int = 0  # copies of an e-mail with the same Message-ID: dropped by the receiving side

    def line(self) -> str:
        return (
            f"fault {self.name}: sent {self.sent}, succeeded {self.succeeded}, "
            f"failed cleanly {self.failed_cleanly}, lost {self.lost}"
        )

    def record(self, node) -> None:
        """Hand the tally to the terminal summary (tests/faults/summary.py), through the test's report."""
        lines = [self.line()]
        if self.repeats:
            lines.append(f"  ({self.repeats} e-mail repeat(s) with the same Message-ID, dropped by the receiver)")
        lines += [f"  lost: {problem}" for problem in self.problems]
        node.user_properties += [(KEY, line) for line in lines]


def error_texts(app) -> list[str]:
    """The sentences of our error pages as a Vietnamese buyer reads them."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    with app.test_request_context(), force_locale("vi"):
        return [
            _("The site cannot reach its data for a moment. Please try again in a few seconds."),
            _("Our mistake, not yours. Please try again shortly."),
        ]


def prepare(base_url: str, buyers, password: str) -> list[Shopper]:
    """Log every buyer in (their carts are filled), before anything breaks."""

    def one(buyer) -> Shopper:
        shopper = Shopper(base_url)
        # Shopper.login follows the redirect to the home page: a page nobody here looks at.
        response = shopper.post(
            "/account/login",
            {"email": buyer.email, "password": password},
            form_page="/account/login",
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text[:500]
        shopper.email = buyer.email
        return shopper

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, buyers))


def checkout(shopper: Shopper, texts: list[str]) -> Attempt:
    """One checkout as a browser does it: open the form, send it; say what the buyer saw."""
    attempt = Attempt(shopper.email)
    path = f"/checkout?province={PROVINCE}"
    try:
        page = shopper.get(path)
        if page.status_code != 200:
            return _judge_page(attempt, page, texts)
        attempt.key = hidden(page.text, "idempotency_key")
        response = shopper.http.post(
            shopper.base + path,
            data={
                "csrf_token": hidden(page.text, "csrf_token"),
                "contact_name": "Nguyễn Thị Lan",
                "phone": "0912 345 678",
                "ward_code": str(WARD),
                "street": "12 Nguyễn Đáng",
                "note": "",
                "payment_method": "cod",
                "idempotency_key": attempt.key,
                "expected_total": hidden(page.text, "expected_total"),
            },
            timeout=30,
        )
    except requests.ConnectionError as exc:
        attempt.seen, attempt.detail = "reset", type(exc).__name__
        return attempt
    match = ORDER_PAGE.search(response.url)
    if response.status_code == 200 and match:
        attempt.seen, attempt.number = "page", match.group(1)
        return attempt
    return _judge_page(attempt, response, texts)


def _judge_page(attempt: Attempt, response: requests.Response, texts: list[str]) -> Attempt:
    body = html.unescape(response.text)
    ours = response.status_code >= 500 and 'lang="vi"' in body and any(t in body for t in texts)
    attempt.seen = "error page" if ours else "other"
    attempt.detail = f"HTTP {response.status_code} at {response.url}: {body[:300]!r}"
    return attempt


def run_stream(shoppers: list[Shopper], texts: list[str], fault: Callable[[], None], *, every: float = 0.12):
    """Check every shopper out, one starting every `every` seconds on 6 threads, while `fault` runs."""
    breaker = threading.Thread(target=fault)

    def staggered(n: int, shopper: Shopper) -> Attempt:
        time.sleep(n * every)
        return checkout(shopper, texts)

    with ThreadPoolExecutor(6) as pool:
        breaker.start()
        attempts = list(pool.map(staggered, range(len(shoppers)), shoppers))
    breaker.join()
    return attempts


def settle(
    app, name: str, attempts: list[Attempt], market: dict, mailbox, *, timeout: float = 30, grace: float = 3.5
) -> Tally:
    """Tally the checkouts against the database and the mailbox, once the stack recovered."""
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db
    from ktt_market.orders.models import Purchase

    tally = Tally(name, sent=len(attempts))
    unit_ids = {u.id for u in market["units"]}
    wanted = {p.id: 1 for p in market["products"]}
    with app.app_context():
        purchases = {}
        for purchase in db.session.scalars(select(Purchase)):
            orders = list(purchase.orders)
            lines = Counter()
            for order in orders:
                for line in order.lines:
                    lines[line.product_id] += line.quantity
            whole = {o.unit_id for o in orders} == unit_ids and len(orders) == len(unit_ids) and lines == wanted
            purchases[purchase.idempotency_key] = (purchase.number, whole, purchase.buyer.email)
        taken = {p.id: p.stock for p in db.session.scalars(select(Product).where(Product.id.in_(wanted)))}
        db.session.remove()

    # Stock: what left the shelves is exactly what the stored purchases hold.
    sold = len(purchases)
    for product in market["products"]:
        if product.stock - taken[product.id] != sold:
            tally.lost += 1
            tally.problems.append(f"stock of {product.name}: {product.stock - taken[product.id]} taken, {sold} sold")

    # E-mails: the buyer's receipt and each manager's order, once each, for every stored purchase.
    owed = []
    for number, _whole, buyer in purchases.values():
        owed.append((buyer, number))
        owed += [(manager.email, number) for manager in market["staff"]]
    received = _wait_for_mail(mailbox, owed, timeout=timeout, grace=grace)
    ids = {}
    for address, number in owed:
        copies = [m for m in received if address in m.rcpt and number in m.subject]
        ids[(address, number)] = len({m.message_id for m in copies})
        tally.repeats += len(copies) - ids[(address, number)]

    def mailed(number: str, address: str) -> bool:
        return ids.get((address, number)) == 1

    known = set()
    for attempt in attempts:
        stored = purchases.get(attempt.key) if attempt.key else None
        if stored is not None:
            known.add(attempt.key)
        number, whole, buyer = stored or (None, False, None)
        everyone = stored is not None and all(mailed(number, a) for a in [buyer, *(m.email for m in market["staff"])])
        if stored is None and attempt.seen in ("error page", "reset"):
            tally.failed_cleanly += 1
        elif (
            stored is not None
            and whole
            and everyone
            and ((attempt.seen == "page" and attempt.number == number) or attempt.seen in ("error page", "reset"))
        ):
            tally.succeeded += 1  # told by the page, or by the receipt when the page was an error
        else:
            tally.lost += 1
            tally.problems.append(
                f"{attempt.buyer}: saw {attempt.seen} {attempt.number or ''} {attempt.detail[:200]}; "
                f"stored {number} whole={whole} e-mails={[ids.get((a, number)) for a, n in owed if n == number]}"
            )
    for key, (number, _whole, buyer) in purchases.items():
        if key not in known:
            tally.lost += 1
            tally.problems.append(f"{number} of {buyer} stored, but no checkout of the stream sent it")
    return tally


def _wait_for_mail(mailbox, owed: list[tuple[str, str]], *, timeout: float, grace: float):
    """Wait until every owed e-mail arrived (or `timeout`), then `grace` more seconds for any repeat."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {(r, n) for m in list(mailbox.received) for r in m.rcpt for (a, n) in owed if a == r and n in m.subject}
        if got >= set(owed):
            break
        time.sleep(0.25)
    time.sleep(grace)
    return list(mailbox.received)
