"""Fixtures and helpers for the card tests: a fake Stripe, Stripe's keys, signed webhooks, card purchases.

Imported with `from .card_support import *` by test_card*.py and test_webhooks.py (the orders
fixtures come along: cooperatives, products, a buyer, `place`).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ktt_market.extensions import db
from tests.orders import conftest as _orders
from tests.support.fake_stripe import event, sign, start_fake_stripe

# The marketplace fixtures of the orders tests, offered to the modules that star-import this one.
_english_services = _orders._english_services
buyer = _orders.buyer
coops = _orders.coops
fill_cart = _orders.fill_cart
make_user = _orders.make_user
place = _orders.place
products = _orders.products
staff_a = _orders.staff_a
staff_b = _orders.staff_b
stock_of = _orders.stock_of

WEBHOOK_SECRET = "whsec_test_secret"
WEBHOOK = "/payments/stripe/webhook"


@pytest.fixture
def fake_stripe():
    fake, server = start_fake_stripe()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_on(app, fake_stripe, monkeypatch):
    """Stripe configured, its API at the fake."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake_stripe.url)
    return fake_stripe


@pytest.fixture
def send_event(app):
    """POST a Stripe event to the webhook, signed as Stripe signs it; return the response."""
    client = app.test_client()

    def send(event_type: str, obj: dict, *, event_id: str | None = None, secret: str = WEBHOOK_SECRET, **kwargs):
        body = json.dumps(event(event_type, obj, event_id))
        headers = {"Stripe-Signature": sign(body, secret, kwargs.get("timestamp"))}
        return client.post(WEBHOOK, data=body, headers=headers, content_type="application/json")

    return send


@pytest.fixture
def card_purchase(app, stripe_on, buyer, products, place):
    """A card purchase (pomelo ×2 from HTX A, coconut ×1 from HTX B) with its Stripe session; its number."""
    from ktt_market.orders.models import Purchase
    from ktt_market.payments.card import open_checkout

    number = place(buyer, {products["pomelo"]: 2, products["coconut"]: 1}, payment_method="card")
    with app.test_request_context():
        purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
        open_checkout(purchase)
        db.session.commit()
        db.session.remove()
    return number


def load(app, number: str):
    """The purchase's state as plain values: {orders, payments, checkout, ledger}."""
    from ktt_market.orders.models import Purchase
    from ktt_market.payments.models import CardCheckout, LedgerEntry, Payment, Refund

    with app.app_context():
        purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
        orders = {o.id: o.status.value for o in purchase.orders}
        payments = {
            p.order_id: (p.status.value, p.provider_ref, p.failure_reason)
            for p in db.session.scalars(select(Payment).where(Payment.purchase_id == purchase.id))
        }
        checkout = db.session.scalar(select(CardCheckout).where(CardCheckout.purchase_id == purchase.id))
        refunds = [
            (r.order_id, r.amount_vnd, r.status.value, r.provider_ref)
            for r in db.session.scalars(select(Refund).order_by(Refund.id))
        ]
        ledger = {
            unit_id: total
            for unit_id, total in db.session.execute(
                select(LedgerEntry.unit_id, func.sum(LedgerEntry.amount_vnd)).group_by(LedgerEntry.unit_id)
            )
        }
        state = {
            "purchase_id": purchase.id,
            "orders": orders,
            "order_ids": sorted(orders),
            "payments": payments,
            "session_id": checkout.session_id if checkout else None,
            "checkout": checkout.status.value if checkout else None,
            "refunds": refunds,
            "ledger": ledger,
            "entries": db.session.scalar(select(func.count()).select_from(LedgerEntry)),
        }
        db.session.remove()
    return state


def count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return value
