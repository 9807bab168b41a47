"""Cash on delivery: owed from checkout, paid when the cooperative records the delivery and the cash."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ktt_market.extensions import db
from ktt_market.notifications.models import OutboxMessage
from ktt_market.orders.models import OrderStatus
from ktt_market.payments.models import Collector, PaymentStatus
from tests.conftest import post_form

from .transfer_support import *  # noqa: F403  (fixtures)
from .transfer_support import ledger_rows, order_status, page, payments_of

pytestmark = pytest.mark.core


def _to_shipped(client, unit_id: int, order_id: int) -> str:
    base = f"/orders/units/{unit_id}/{order_id}"
    assert post_form(client, f"{base}/confirm").status_code == 302
    assert post_form(client, f"{base}/ship", {"carrier": "GHN", "tracking_code": "GHN1"}).status_code == 302
    return base


def test_cod_is_paid_when_the_cooperative_records_the_delivery_and_the_cash(
    app, client, login, buyer, staff_a, coops, products, place
):
    number = place(buyer, {products["pomelo"]: 2}, payment_method="cod")
    [payment] = payments_of(app, number)
    assert payment["order_status"] is OrderStatus.PLACED
    assert payment["status"] is PaymentStatus.PENDING
    assert payment["collector"] is Collector.COOPERATIVE
    assert payment["amount_vnd"] == 120_000 and payment["reference"] is None

    login(client, staff_a)
    base = _to_shipped(client, coops[0].id, payment["order_id"])
    html = page(client.get(base))
    assert "Cash received: " in html and 'name="cash_received"' in html
    assert "collect ₫120,000" in html  # the payment block says how much to collect

    # Without the cash ticked: refused beside the box, nothing changes.
    response = post_form(client, f"{base}/deliver")
    assert response.status_code == 422
    assert "Tick “Cash received” once you hold the cash: this order is paid on delivery." in page(response)
    after = payments_of(app, number)[0]
    assert after["order_status"] is OrderStatus.SHIPPED and after["status"] is PaymentStatus.PENDING

    response = post_form(client, f"{base}/deliver", {"cash_received": "y"})
    assert response.status_code == 302
    after = payments_of(app, number)[0]
    assert after["order_status"] is OrderStatus.DELIVERED
    assert after["status"] is PaymentStatus.SUCCEEDED
    assert after["recorded_by_id"] == staff_a.id and after["paid_at"] is not None
    assert "Paid" in page(client.get(base))
    # The cash never passed through the platform: nothing in the ledger, and no "payment received" message.
    assert ledger_rows(app) == []
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "payment_received")
            )
            == 0
        )


def test_a_cancelled_cod_order_owes_nothing(app, client, login, buyer, products, place):
    number = place(buyer, {products["pomelo"]: 1}, payment_method="cod")
    [payment] = payments_of(app, number)
    login(client, buyer)
    html = page(client.get(f"/orders/{number}"))
    assert "Pay ₫60,000 in cash when the goods arrive." in html
    assert post_form(client, f"/orders/{number}/{payment['order_id']}/cancel").status_code == 302
    after = payments_of(app, number)[0]
    assert after["order_status"] is OrderStatus.CANCELLED
    assert after["status"] is PaymentStatus.CANCELLED
    assert "Nothing to pay (cancelled)" in page(client.get(f"/orders/{number}"))


def test_delivering_a_placed_cod_order_still_says_the_move_is_impossible(
    app, client, login, buyer, staff_a, coops, products, place
):
    number = place(buyer, {products["pomelo"]: 1}, payment_method="cod")
    [payment] = payments_of(app, number)
    login(client, staff_a)
    response = post_form(client, f"/orders/units/{coops[0].id}/{payment['order_id']}/deliver", {"cash_received": "y"})
    assert response.status_code == 422
    assert "cannot become “Delivered”" in page(response)
    assert order_status(app, payment["order_id"]) is OrderStatus.PLACED
    assert payments_of(app, number)[0]["status"] is PaymentStatus.PENDING


def test_a_cod_order_waiting_for_delivery_does_not_look_unpaid(app, client, login, buyer, products, place):
    place(buyer, {products["pomelo"]: 1}, payment_method="cod")
    from ktt_market.extensions import db
    from ktt_market.orders.models import Purchase

    with app.app_context():
        number = db.session.query(Purchase.number).scalar()
    html = login(client, buyer).get(f"/orders/{number}").get_data(as_text=True)
    assert "Cash on delivery" in html and "Waiting for payment" not in html
