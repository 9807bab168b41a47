"""Events wired where they happen: checkout, order moves, registry decisions, unpaid orders."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ktt_market.accounts.models import User
from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.notifications.models import OutboxMessage
from ktt_market.orders.models import Order, OrderStatus
from ktt_market.orders.states import transition

pytestmark = pytest.mark.core


def test_a_purchase_owes_a_receipt_and_a_new_order_in_its_own_transaction(app, buyer, staff, product, place, outbox):
    place(buyer, {product: 2})
    assert outbox() == [
        ("order_placed", buyer.id, "email", "pending"),
        ("order_placed", buyer.id, "inapp", "pending"),
        ("order_placed", staff.id, "email", "pending"),
        ("order_placed", staff.id, "inapp", "pending"),
    ]
    with app.app_context():
        roles = {m.user_id: m.payload["role"] for m in db.session.scalars(select(OutboxMessage))}
        assert roles == {buyer.id: "buyer", staff.id: "staff"}
        staff_mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == staff.id).limit(1))
        assert staff_mail.payload["lines"] == [["Bưởi da xanh", 2, "kg"]]


def test_a_rolled_back_purchase_owes_nothing(buyer, staff, product, place, outbox):
    place(buyer, {product: 2}, commit=False)
    assert outbox() == []


def test_a_checkout_taking_stock_to_the_threshold_warns_the_staff_once(buyer, staff, product, place, outbox):
    place(buyer, {product: 4})  # 10 -> 6: above the threshold of 5
    assert [r for r in outbox() if r[0] == "low_stock"] == []
    place(buyer, {product: 1})  # 6 -> 5: reaches it
    place(buyer, {product: 1})  # 5 -> 4: already below, no new warning
    assert [r for r in outbox() if r[0] == "low_stock"] == [
        ("low_stock", staff.id, "email", "pending"),
        ("low_stock", staff.id, "inapp", "pending"),
    ]


def test_order_moves_tell_the_buyer(app, buyer, staff, product, place, outbox):
    place(buyer, {product: 1})
    with app.app_context(), app.test_request_context():
        order = db.session.scalar(select(Order))
        actor = db.session.get(User, staff.id)
        transition(order, OrderStatus.CONFIRMED, actor=actor)
        transition(order, OrderStatus.SHIPPED, actor=actor, carrier="Viettel Post", tracking_code="VP123")
        db.session.commit()
    kinds = [(k, u) for k, u, c, _s in outbox() if c == "email" and k != "order_placed"]
    assert kinds == [("order_confirmed", buyer.id), ("order_shipped", buyer.id)]
    with app.app_context():
        shipped = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "order_shipped").limit(1))
        assert (shipped.payload["carrier"], shipped.payload["tracking_code"]) == ("Viettel Post", "VP123")


def test_staff_rejecting_is_a_rejection_and_a_buyer_cancelling_tells_the_staff(
    app, buyer, staff, product, place, outbox
):
    place(buyer, {product: 1})
    place(buyer, {product: 1})
    with app.app_context(), app.test_request_context():
        first, second = db.session.scalars(select(Order).order_by(Order.id)).all()
        transition(first, OrderStatus.CANCELLED, actor=db.session.get(User, staff.id), reason="Hết hàng")
        transition(second, OrderStatus.CANCELLED, actor=db.session.get(User, buyer.id))
        db.session.commit()
    emails = [(k, u) for k, u, c, _s in outbox() if c == "email" and k != "order_placed"]
    assert emails == [("order_rejected", buyer.id), ("order_cancelled", buyer.id), ("order_cancelled", staff.id)]


def test_registry_decisions_tell_the_applicant(app, buyer, make_user, outbox):
    from ktt_market.registry import services as registry

    officer = make_user("officer", province_code=86)
    with app.app_context(), app.test_request_context():
        applicant = db.session.get(User, buyer.id)
        data = {
            "kind": "HTX",
            "registration_code": "HTX-NEW-1",
            "name": "HTX Rau sạch",
            "sector": "agriculture",
            "ward_code": 29242,
            "province_code": 86,
            "founded_on": dt.date(2021, 5, 1),
        }
        application = registry.register_unit(actor=applicant, data=data)
        registry.approve_application(application, actor=db.session.get(User, officer.id))
        db.session.commit()
    assert [(k, c) for k, _u, c, _s in outbox()] == [("unit_approved", "email"), ("unit_approved", "inapp")]


def test_unpaid_orders_about_to_expire_are_reminded_once(app, buyer, coop, product, make_order, outbox):
    from ktt_market.notifications.tasks import warn_expiring

    made = make_order(coop, buyer, [(product, 1)], status=OrderStatus.PENDING_PAYMENT)
    with app.app_context():
        db.session.get(Order, made.order_id).expires_at = utcnow() + dt.timedelta(minutes=10)
        db.session.commit()
    assert warn_expiring() == 1
    assert warn_expiring() == 1  # the same order again: nothing new owed
    assert [(k, c) for k, _u, c, _s in outbox()] == [("payment_expiring", "email"), ("payment_expiring", "inapp")]
