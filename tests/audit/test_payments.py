"""Money moved by officers and admins: transfers recorded, transfers sent back, returns approved, payout runs."""

from __future__ import annotations

import pytest

from ktt_market.accounts.models import User
from ktt_market.extensions import db
from ktt_market.orders.models import Order, OrderStatus, PaymentMethod
from ktt_market.payments.models import Collector, Payment, PaymentStatus
from tests.payments.conftest import LEDGER_BANK_ACCOUNT, ledger_coop, ledger_sale, ledger_shopper  # noqa: F401

from .conftest import PROVINCE

pytestmark = pytest.mark.core


@pytest.fixture
def pending_transfer(app, make_unit, make_user, make_product, make_order):
    """A placed order of 150.000 ₫ waiting for its bank transfer to the platform."""
    unit = make_unit(name="HTX Bưởi")
    product = make_product(unit, price_vnd=150_000, stock=10)
    order = make_order(unit, make_user(), [(product, 1)], status=OrderStatus.PLACED)
    with app.app_context():
        payment = Payment(
            order_id=order.order_id,
            purchase_id=order.purchase_id,
            method=PaymentMethod.BANK_TRANSFER,
            collector=Collector.PLATFORM,
            amount_vnd=150_000,
            status=PaymentStatus.PENDING,
            reference="KTTAUDIT1",
        )
        db.session.add(payment)
        db.session.commit()
        return payment.id


def test_recording_a_transfer_and_sending_it_back(app, ctx, officer, pending_transfer, events):
    from ktt_market.payments import transfers

    actor = db.session.get(User, officer.id)
    payment, done = transfers.record_transfer("KTTAUDIT1", 150_000, actor=actor)
    db.session.commit()
    assert done
    [event] = events("payments.transfer.record")
    assert (event.actor_id, event.province_code, event.object_id) == (officer.id, PROVINCE, str(pending_transfer))
    assert (event.before, event.after) == ({"status": "pending"}, {"status": "succeeded", "amount_vnd": 150_000})

    refund = transfers.refund_paid_transfer(payment, actor=None)
    db.session.commit()
    transfers.record_refund_sent(refund.id, "FT2403011234", actor=actor)
    db.session.commit()
    [sent] = events("payments.refund.sent")
    assert sent.before == {"status": "pending"}
    assert sent.after == {"status": "succeeded", "amount_vnd": 150_000, "bank_reference": "FT2403011234"}


def test_a_refused_transfer_writes_nothing(app, ctx, officer, pending_transfer, events):
    from ktt_market.core.errors import ServiceError
    from ktt_market.payments import transfers

    with pytest.raises(ServiceError):
        transfers.record_transfer("KTTAUDIT1", 149_000, actor=db.session.get(User, officer.id))
    db.session.rollback()
    assert events() == []


def test_approving_a_card_return(app, ctx, officer, ledger_coop, ledger_sale, events):  # noqa: F811
    from ktt_market.payments.card import approve_return

    sale = ledger_sale(ledger_coop, 200_000)
    order = db.session.get(Order, sale.order_id)
    order.status = OrderStatus.DELIVERED
    db.session.commit()
    refund = approve_return(order, 50_000, actor=db.session.get(User, officer.id), reason="Hàng dập")
    db.session.commit()
    [event] = events("payments.return.approve")
    assert (event.object_type, event.object_id, event.province_code) == ("orders", str(order.id), PROVINCE)
    assert event.after == {"refund_id": refund.id, "amount_vnd": 50_000, "reason": "Hàng dập"}


def test_a_payout_run(app, ctx, admin, ledger_coop, ledger_sale, events):  # noqa: F811
    from ktt_market.payments.payouts import PayoutLine, new_run_key, record_payouts

    ledger_sale(ledger_coop, 200_000)
    batch, created = record_payouts(
        [PayoutLine(ledger_coop.id, 100_000, "FT-PAY-1")], actor=db.session.get(User, admin.id), key=new_run_key()
    )
    db.session.commit()
    assert created
    [run] = events("payments.payout_run.record")
    assert (run.object_id, run.province_code, run.actor_role) == (str(batch.id), None, "admin")
    assert run.after["total_vnd"] == 100_000
    [paid] = events("payments.payout.record")
    assert paid.province_code == PROVINCE
    assert paid.after == {"amount_vnd": 100_000, "bank_reference": "FT-PAY-1", "batch_id": batch.id}
