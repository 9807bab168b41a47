"""Fixtures and helpers of the cash-on-delivery, bank-transfer and payment-notification tests.

The marketplace fixtures (two cooperatives, products, a buyer, staff, `place`) come from the orders
tests; test modules import this module's names with `from .transfer_support import *`.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from ktt_market.extensions import db
from ktt_market.orders.models import Order, Purchase
from ktt_market.payments.models import LedgerEntry, Payment
from tests.orders import conftest as _orders

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

PLATFORM = {"bin": "970436", "account": "0011001932418", "name": "CONG TY KTT MARKET"}
COOP_A = {"bin": "970416", "account": "257678859", "name": "HTX BUOI TRA VINH"}


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def platform_account(app, monkeypatch):
    """Configure the platform's receiving account for the test."""
    monkeypatch.setitem(app.config, "PLATFORM_BANK_BIN", PLATFORM["bin"])
    monkeypatch.setitem(app.config, "PLATFORM_BANK_ACCOUNT", PLATFORM["account"])
    monkeypatch.setitem(app.config, "PLATFORM_BANK_NAME", PLATFORM["name"])
    return PLATFORM


@pytest.fixture(autouse=True)
def _no_platform_account(app, monkeypatch):
    """Start every test without a platform account, whatever the environment says."""
    for name in ("PLATFORM_BANK_BIN", "PLATFORM_BANK_ACCOUNT", "PLATFORM_BANK_NAME"):
        monkeypatch.setitem(app.config, name, None)


@pytest.fixture
def coop_a_account(app, coops):
    """Give cooperative A its own bank account."""
    from ktt_market.registry.models import Unit

    with app.app_context():
        unit = db.session.get(Unit, coops[0].id)
        unit.bank_bin, unit.bank_account, unit.bank_account_name = COOP_A["bin"], COOP_A["account"], COOP_A["name"]
        db.session.commit()
        db.session.remove()
    return COOP_A


@pytest.fixture
def officer(make_user):
    return make_user(role="officer", province_code=86, full_name="Phạm Cán Bộ")


@pytest.fixture
def officer_elsewhere(make_user):
    return make_user(role="officer", province_code=79)


@pytest.fixture
def admin(make_user):
    return make_user(role="admin")


def payments_of(app, number: str) -> list[dict]:
    """Read the purchase's payments as plain dicts (with their order's status)."""
    with app.app_context():
        rows = db.session.scalars(
            select(Payment).join(Purchase, Purchase.id == Payment.purchase_id).where(Purchase.number == number)
        ).all()
        found = [
            {
                "id": p.id,
                "order_id": p.order_id,
                "unit_id": p.order.unit_id,
                "status": p.status,
                "collector": p.collector,
                "amount_vnd": p.amount_vnd,
                "reference": p.reference,
                "bank_bin": p.bank_bin,
                "bank_account": p.bank_account,
                "bank_account_name": p.bank_account_name,
                "recorded_by_id": p.recorded_by_id,
                "paid_at": p.paid_at,
                "order_status": p.order.status,
            }
            for p in sorted(rows, key=lambda p: p.order.unit_id)
        ]
        db.session.remove()
    return found


def order_status(app, order_id: int):
    with app.app_context():
        status = db.session.get(Order, order_id).status
        db.session.remove()
    return status


def ledger_rows(app) -> list[tuple]:
    with app.app_context():
        rows = [
            (e.unit_id, e.kind, e.amount_vnd) for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]
        db.session.remove()
    return rows


def vietqr_payloads(html: str) -> list[str]:
    """The VietQR strings the purchase page carries with its QR images."""
    return [html_lib.unescape(p) for p in re.findall(r'data-vietqr="([^"]+)"', html)]


def qr_images(html: str) -> list[str]:
    return re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
