"""Fixtures for the payments area."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from ktt_market.orders.models import OrderStatus
from ktt_market.payments.vietqr import build_payload


@pytest.fixture
def transfer_payload() -> str:
    """A VietQR string for 150.000 ₫ to an ACB account, with a cooperative's name and city."""
    return build_payload(
        bin="970416",
        account="257678859",
        amount=150_000,
        reference="KTT7QX4M2",
        merchant_name="Hợp tác xã Bưởi Đoan Hùng",
        city="Phú Thọ",
    )


# ---------------------------------------------------------------- ledger and payouts

LEDGER_BANK_ACCOUNT = {"bank_bin": "970436", "bank_account": "0071000123456", "bank_account_name": "HTX BUOI TRA VINH"}


@pytest.fixture
def ledger_coop(make_unit):
    """An approved cooperative in Vĩnh Long with a bank account to be paid into."""
    return make_unit(name="HTX Bưởi Trà Vinh", **LEDGER_BANK_ACCOUNT)


@pytest.fixture
def ledger_shopper(make_user):
    return make_user(full_name="Nguyễn Thị Lan", locale="en")


@pytest.fixture
def ledger_sale(app, make_product, make_order, ledger_shopper):
    """A placed order of `unit` for `amount` đồng, paid by card to the platform (payment_succeeded); ids back."""
    from ktt_market.extensions import db
    from ktt_market.orders.models import PaymentMethod
    from ktt_market.payments.models import Collector, Payment, PaymentStatus
    from ktt_market.payments.services import payment_succeeded

    def make(unit, amount: int) -> SimpleNamespace:
        product = make_product(unit, price_vnd=amount, stock=10)
        order = make_order(unit, ledger_shopper, [(product, 1)], status=OrderStatus.PLACED)
        with app.app_context(), app.test_request_context():
            payment = Payment(
                order_id=order.order_id,
                purchase_id=order.purchase_id,
                method=PaymentMethod.CARD,
                collector=Collector.PLATFORM,
                amount_vnd=amount,
                status=PaymentStatus.PENDING,
            )
            db.session.add(payment)
            db.session.flush()
            assert payment_succeeded(payment, actor=None, provider_ref=f"pi_test_{order.order_id}")
            db.session.commit()
            result = SimpleNamespace(payment_id=payment.id, order_id=order.order_id, number=order.number)
            db.session.remove()
        return result

    return make


@pytest.fixture
def ledger_refund(app):
    """Refund `amount` (None: all that is left) of a paid sale, confirmed by the provider; the refund's id back."""
    from ktt_market.extensions import db
    from ktt_market.payments.models import Payment
    from ktt_market.payments.services import refund_succeeded, request_refund

    def do(sale: SimpleNamespace, amount: int | None) -> int:
        with app.app_context(), app.test_request_context():
            payment = db.session.get(Payment, sale.payment_id)
            made = request_refund(payment, amount, actor=None, reason="Hàng dập")
            db.session.commit()
            assert refund_succeeded(made, provider_ref=f"re_test_{made.id}")
            db.session.commit()
            refund_id = made.id
            db.session.remove()
        return refund_id

    return do


@pytest.fixture
def ledger_entry_at(app):
    """Insert a ledger entry at a given time (statements are about when things were booked)."""
    from ktt_market.extensions import db
    from ktt_market.payments.models import EntryKind, LedgerEntry

    def do(unit, kind: EntryKind, amount: int, when: dt.datetime, key: str) -> None:
        with app.app_context():
            db.session.add(LedgerEntry(unit_id=unit.id, key=key, kind=kind, amount_vnd=amount, created_at=when))
            db.session.commit()
            db.session.remove()

    return do


def read_balance(app, unit) -> tuple[int, int]:
    """Return (ledger.balance, the plain sum of the unit's entries): they must always agree."""
    from sqlalchemy import func, select

    from ktt_market.extensions import db
    from ktt_market.payments import ledger
    from ktt_market.payments.models import LedgerEntry

    with app.app_context():
        total = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(LedgerEntry.unit_id == unit.id)
        )
        got = ledger.balance(unit.id), int(total)
        db.session.remove()
    return got
