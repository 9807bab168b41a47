"""The order state machine: every move, who may make it, the history, and stock going back once."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from ktt_market.accounts.models import User
from ktt_market.catalog.models import Product
from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.orders.models import Order, OrderEvent, OrderStatus, Purchase
from ktt_market.orders.states import (
    MOVES,
    allowed_moves,
    complete_delivered_orders,
    expire_unpaid_orders,
    return_stock,
    transition,
)

pytestmark = pytest.mark.core

S = OrderStatus
ALLOWED = {
    (S.PENDING_PAYMENT, S.PLACED): "system",
    (S.PENDING_PAYMENT, S.CANCELLED): "buyer",
    (S.PLACED, S.CONFIRMED): "staff",
    (S.PLACED, S.CANCELLED): "buyer",
    (S.CONFIRMED, S.SHIPPED): "staff",
    (S.CONFIRMED, S.CANCELLED): "staff",
    (S.SHIPPED, S.DELIVERED): "staff",
    (S.DELIVERED, S.COMPLETED): "system",
    (S.CANCELLED, S.REFUNDED): "system",
    (S.DELIVERED, S.REFUNDED): "system",
    (S.COMPLETED, S.REFUNDED): "system",
}
EXTRA = {S.SHIPPED: {"carrier": "Viettel Post", "tracking_code": "VTP123"}}


@pytest.fixture
def order_of(app, buyer, products, place):
    """Place an order of 2 pomelos and force it into `status` (what the moves are tested from)."""

    def make(status: OrderStatus) -> int:
        number = place(buyer, {products["pomelo"]: 2})
        with app.app_context():
            order = db.session.scalar(select(Order).join(Purchase).where(Purchase.number == number))
            order.status = status
            db.session.commit()
            order_id = order.id
            db.session.remove()
        return order_id

    return make


def actor_for(kind: str, buyer, staff_a):
    return {"buyer": buyer, "staff": staff_a, "system": None}[kind]


def load(user):
    return db.session.get(User, user.id) if user is not None else None


def test_the_table_is_the_brief():
    assert set(MOVES) == set(ALLOWED)


@pytest.mark.parametrize(("frm", "to"), list(ALLOWED))
def test_every_allowed_move(app, ctx, order_of, buyer, staff_a, frm, to):
    order = db.session.get(Order, order_of(frm))
    actor = load(actor_for(ALLOWED[(frm, to)], buyer, staff_a))
    event = transition(order, to, actor=actor, reason="Đổi ý" if to is S.CANCELLED else None, **EXTRA.get(to, {}))
    db.session.commit()
    assert order.status is to
    assert (event.from_status, event.to_status) == (frm, to)
    assert event.actor_id == (actor.id if actor else None)
    assert event.created_at is not None


@pytest.mark.parametrize(("frm", "to"), [(a, b) for a, b in itertools.product(S, S) if (a, b) not in ALLOWED])
def test_every_other_move_is_refused(app, ctx, order_of, buyer, staff_a, frm, to):
    order = db.session.get(Order, order_of(frm))
    for actor in (load(buyer), load(staff_a), None):
        with pytest.raises(ServiceError):
            transition(order, to, actor=actor, reason="x", **EXTRA.get(to, {}))
        db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status is frm
    assert db.session.scalars(select(OrderEvent.to_status).where(OrderEvent.order_id == order.id)).all() == [S.PLACED]


@pytest.mark.parametrize(("frm", "to"), list(ALLOWED))
def test_only_the_right_party_may_move(app, ctx, order_of, buyer, staff_a, staff_b, make_user, frm, to):
    order = db.session.get(Order, order_of(frm))
    allowed = MOVES[(frm, to)]
    candidates = {"buyer": load(buyer), "staff": load(staff_a), "system": None}
    outsiders = [load(staff_b), load(make_user())]  # another cooperative's staff, another buyer
    for kind, actor in [*candidates.items(), *(("outsider", o) for o in outsiders)]:
        if kind in {p.value for p in allowed}:
            continue
        with pytest.raises(PermissionDenied):
            transition(order, to, actor=actor, reason="x", **EXTRA.get(to, {}))
        db.session.rollback()
        order = db.session.get(Order, order.id)
        assert order.status is frm


def test_allowed_moves_per_actor(app, ctx, order_of, buyer, staff_a, staff_b):
    order = db.session.get(Order, order_of(S.PLACED))
    assert allowed_moves(order, load(buyer)) == [S.CANCELLED]
    assert set(allowed_moves(order, load(staff_a))) == {S.CONFIRMED, S.CANCELLED}
    assert allowed_moves(order, load(staff_b)) == []
    assert allowed_moves(order, None) == []
    order.status = S.CONFIRMED
    assert allowed_moves(order, load(buyer)) == []  # too late to cancel


def test_reject_needs_a_reason(app, ctx, order_of, staff_a):
    order = db.session.get(Order, order_of(S.PLACED))
    with pytest.raises(ServiceError) as err:
        transition(order, S.CANCELLED, actor=load(staff_a), reason="  ")
    assert err.value.field == "reason"
    db.session.rollback()
    event = transition(order, S.CANCELLED, actor=load(staff_a), reason="Hết hàng vụ này")
    assert event.reason == "Hết hàng vụ này"


def test_buyer_cancels_without_a_reason(app, ctx, order_of, buyer):
    order = db.session.get(Order, order_of(S.PLACED))
    assert transition(order, S.CANCELLED, actor=load(buyer)).reason is None


def test_shipping_needs_carrier_and_tracking_code(app, ctx, order_of, staff_a):
    order = db.session.get(Order, order_of(S.CONFIRMED))
    with pytest.raises(ServiceError) as err:
        transition(order, S.SHIPPED, actor=load(staff_a), carrier="GHN", tracking_code="")
    assert err.value.field == "tracking_code"
    db.session.rollback()
    with pytest.raises(ServiceError) as err:
        transition(order, S.SHIPPED, actor=load(staff_a), carrier=None, tracking_code="X1")
    assert err.value.field == "carrier"
    db.session.rollback()
    transition(order, S.SHIPPED, actor=load(staff_a), carrier=" GHN ", tracking_code="X1")
    assert (order.carrier, order.tracking_code) == ("GHN", "X1")


def test_the_whole_life_is_recorded(app, ctx, order_of, buyer, staff_a):
    order = db.session.get(Order, order_of(S.PLACED))
    staff = load(staff_a)
    transition(order, S.CONFIRMED, actor=staff)
    transition(order, S.SHIPPED, actor=staff, carrier="GHN", tracking_code="X1")
    transition(order, S.DELIVERED, actor=staff)
    assert order.delivered_at is not None
    transition(order, S.COMPLETED, actor=None)
    db.session.commit()
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [
        (None, S.PLACED, buyer.id),
        (S.PLACED, S.CONFIRMED, staff.id),
        (S.CONFIRMED, S.SHIPPED, staff.id),
        (S.SHIPPED, S.DELIVERED, staff.id),
        (S.DELIVERED, S.COMPLETED, None),
    ]


def stock(product) -> int:
    db.session.expire_all()
    return db.session.get(Product, product.id).stock


def test_cancelling_returns_stock_exactly_once(app, ctx, buyer, products, place):
    place(buyer, {products["pomelo"]: 3, products["coconut"]: 1})
    assert (stock(products["pomelo"]), stock(products["coconut"])) == (7, 2)
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    for order in orders:
        transition(order, S.CANCELLED, actor=load(buyer))
    db.session.commit()
    assert (stock(products["pomelo"]), stock(products["coconut"])) == (10, 3)
    # A second return, or a second cancel, gives nothing back.
    for order in orders:
        assert return_stock(order) is False
        with pytest.raises(ServiceError):
            transition(order, S.CANCELLED, actor=load(buyer))
        db.session.rollback()
    assert (stock(products["pomelo"]), stock(products["coconut"])) == (10, 3)
    assert all(o.stock_returned_at is not None for o in db.session.scalars(select(Order)))


def test_delivered_orders_keep_their_stock_taken(app, ctx, buyer, staff_a, products, place):
    place(buyer, {products["pomelo"]: 3})
    order = db.session.scalar(select(Order))
    staff = load(staff_a)
    transition(order, S.CONFIRMED, actor=staff)
    transition(order, S.SHIPPED, actor=staff, carrier="GHN", tracking_code="X1")
    transition(order, S.DELIVERED, actor=staff)
    db.session.commit()
    assert stock(products["pomelo"]) == 7


def test_expire_unpaid_orders(app, ctx, buyer, products, order_of):
    late = db.session.get(Order, order_of(S.PENDING_PAYMENT))
    fresh = db.session.get(Order, order_of(S.PENDING_PAYMENT))
    paid = db.session.get(Order, order_of(S.PLACED))
    now = utcnow()
    late.expires_at = now - dt.timedelta(minutes=1)
    fresh.expires_at = now + dt.timedelta(minutes=30)
    paid.expires_at = now - dt.timedelta(minutes=1)  # placed: not touched whatever its deadline
    db.session.commit()
    assert stock(products["pomelo"]) == 4  # three orders of 2
    assert expire_unpaid_orders(now) == 1
    db.session.commit()
    db.session.expire_all()
    assert late.status is S.CANCELLED and fresh.status is S.PENDING_PAYMENT and paid.status is S.PLACED
    assert stock(products["pomelo"]) == 6
    event = db.session.scalar(
        select(OrderEvent).where(OrderEvent.order_id == late.id, OrderEvent.to_status == S.CANCELLED)
    )
    assert event.actor_id is None and event.reason
    assert expire_unpaid_orders(now) == 0  # nothing left to expire, nothing returned twice
    db.session.commit()
    assert stock(products["pomelo"]) == 6


def test_complete_delivered_orders(app, ctx, order_of):
    old = db.session.get(Order, order_of(S.DELIVERED))
    recent = db.session.get(Order, order_of(S.DELIVERED))
    now = utcnow()
    old.delivered_at = now - dt.timedelta(days=15)
    recent.delivered_at = now - dt.timedelta(days=2)
    db.session.commit()
    assert complete_delivered_orders(now, after_days=14) == 1
    db.session.commit()
    db.session.expire_all()
    assert old.status is S.COMPLETED and recent.status is S.DELIVERED


def test_cli_expires_unpaid(app, runner, order_of):
    order_id = order_of(S.PENDING_PAYMENT)
    with app.app_context():
        db.session.get(Order, order_id).expires_at = utcnow() - dt.timedelta(minutes=5)
        db.session.commit()
        db.session.remove()
    result = runner.invoke(args=["orders", "expire-unpaid"])
    assert result.exit_code == 0 and "1 unpaid order(s) cancelled" in result.output
    with app.app_context():
        assert db.session.get(Order, order_id).status is S.CANCELLED
