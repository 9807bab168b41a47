"""Messages about money: payment received (buyer and staff), payment failed (buyer, with the reason),
refund settled (buyer). Each is owed once, in the transaction of its cause."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ktt_market.accounts.models import User
from ktt_market.extensions import db
from ktt_market.notifications import channels
from ktt_market.notifications.models import Channel, OutboxMessage
from ktt_market.payments import services
from ktt_market.payments.models import Payment
from tests.conftest import post_form

from .transfer_support import *  # noqa: F403  (fixtures)
from .transfer_support import payments_of

pytestmark = pytest.mark.core


def inbox_messages(app, kind: str) -> list[tuple[int, dict]]:
    """(user id, payload) of the in-app messages owed of `kind`."""
    with app.app_context():
        rows = [
            (m.user_id, dict(m.payload))
            for m in db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == kind, OutboxMessage.channel == Channel.INAPP)
                .order_by(OutboxMessage.id)
            )
        ]
        db.session.remove()
    return rows


@pytest.fixture
def transfer(app, buyer, products, place, coop_a_account):
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    return payments_of(app, number)[0] | {"number": number}


def test_a_recorded_transfer_tells_the_buyer_and_the_other_staff(
    app, client, login, buyer, staff_a, officer, coops, make_staff, make_user, transfer
):
    colleague = make_staff(coops[0], make_user(full_name="Võ Thị Kế Toán"))
    login(client, staff_a)
    assert (
        post_form(
            client, "/payments/transfers", {"reference": transfer["reference"], "amount_vnd": "120000"}
        ).status_code
        == 302
    )
    messages = inbox_messages(app, "payment_received")
    # The buyer and the colleague; not staff_a, who recorded it.
    assert sorted(user_id for user_id, _payload in messages) == sorted([buyer.id, colleague.id])
    by_user = dict(messages)
    assert by_user[buyer.id]["role"] == "buyer" and by_user[buyer.id]["amount_vnd"] == 120_000
    assert by_user[colleague.id]["role"] == "staff"
    assert by_user[colleague.id]["link"] == f"/orders/units/{coops[0].id}/{transfer['order_id']}"

    # Recording it again owes nothing more.
    post_form(client, "/payments/transfers", {"reference": transfer["reference"], "amount_vnd": "120000"})
    assert len(inbox_messages(app, "payment_received")) == 2

    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == "payment_received",
                OutboxMessage.user_id == buyer.id,
                OutboxMessage.channel == Channel.EMAIL,
            )
        )
        mail = channels.EmailChannel().build(message)
        text = mail.get_body(("plain",)).get_content()
        assert f"Payment received for order {transfer['number']}" in mail["Subject"]
        assert "₫120,000" in text and "HTX Bưởi Trà Vinh" in text


def test_a_failed_payment_tells_the_buyer_why_once_per_kind_of_failure(app, ctx, buyer, transfer):
    payment = db.session.get(Payment, transfer["id"])
    assert services.payment_failed(payment, reason="Thẻ bị từ chối", final=False)
    assert services.payment_failed(payment, reason="Thẻ bị từ chối lần nữa", final=False)
    db.session.commit()
    [(user_id, payload)] = inbox_messages(app, "payment_failed")
    assert user_id == buyer.id and payload["reason"] == "Thẻ bị từ chối" and payload["final"] is False

    assert services.payment_failed(payment, reason="Ngân hàng từ chối", final=True)
    db.session.commit()
    messages = inbox_messages(app, "payment_failed")
    assert len(messages) == 2 and messages[1][1]["final"] is True and messages[1][1]["reason"] == "Ngân hàng từ chối"
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "payment_failed", OutboxMessage.channel == Channel.EMAIL)
    )
    text = channels.EmailChannel().build(message).get_body(("plain",)).get_content()
    assert "Thẻ bị từ chối" in text or "Ngân hàng từ chối" in text


def test_a_settled_refund_tells_the_buyer(app, ctx, buyer, admin, products, place, platform_account):
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    payment = db.session.get(Payment, payments_of(app, number)[0]["id"])
    actor = db.session.get(User, admin.id)
    services.payment_succeeded(payment, actor=actor)
    refund = services.request_refund(payment, 20_000, actor=actor, reason="Thiếu hàng")
    assert inbox_messages(app, "refunded") == []  # asked for, not settled yet
    assert services.refund_succeeded(refund, provider_ref=None)
    assert not services.refund_succeeded(refund, provider_ref=None)
    db.session.commit()
    [(user_id, payload)] = inbox_messages(app, "refunded")
    assert user_id == buyer.id and payload["amount_vnd"] == 20_000 and payload["number"] == number
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "refunded", OutboxMessage.channel == Channel.EMAIL)
    )
    mail = channels.EmailChannel().build(message)
    assert "₫20,000" in mail.get_body(("plain",)).get_content()


def test_cash_on_delivery_sends_no_payment_received_message(app, ctx, buyer, staff_a, products, place):
    from ktt_market.orders.models import Order, OrderStatus
    from ktt_market.orders.states import transition

    number = place(buyer, {products["pomelo"]: 1}, payment_method="cod")
    order = db.session.get(Order, payments_of(app, number)[0]["order_id"])
    actor = db.session.get(User, staff_a.id)
    transition(order, OrderStatus.CONFIRMED, actor=actor)
    transition(order, OrderStatus.SHIPPED, actor=actor, carrier="GHN", tracking_code="1")
    transition(order, OrderStatus.DELIVERED, actor=actor)
    db.session.commit()
    assert payments_of(app, number)[0]["status"].value == "succeeded"
    assert inbox_messages(app, "payment_received") == []
