"""Card payments: the option offered only with Stripe's keys, the Checkout Session, retries, refunds, returns."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from ktt_market.extensions import db
from tests.conftest import post_form
from tests.orders.conftest import PROVINCE, WARD, checkout_key, expected_total, page

from .card_support import *  # noqa: F403
from .card_support import load

pytestmark = pytest.mark.core


def checkout_form(client, method="card"):
    html = page(client.get(f"/checkout?province={PROVINCE}"))
    return html, {
        "contact_name": "Nguyễn Thị Lan",
        "phone": "0912 345 678",
        "ward_code": str(WARD),
        "street": "12 Nguyễn Đáng",
        "payment_method": method,
        "idempotency_key": checkout_key(html),
        "expected_total": expected_total(html),
    }


@pytest.fixture
def shopper(client, login, buyer, products, fill_cart):
    """The buyer, logged in, with pomelo ×2 (HTX A, 120.000 ₫) and coconut ×1 (HTX B, 80.000 ₫) in the cart."""
    fill_cart(buyer, {products["pomelo"]: 2, products["coconut"]: 1})
    login(client, buyer)
    return client


def test_without_stripe_keys_the_card_is_not_offered(app, shopper):
    html, data = checkout_form(shopper)
    assert 'value="card"' not in html
    response = post_form(shopper, f"/checkout?province={PROVINCE}", data)
    assert response.status_code == 422


def test_with_keys_the_card_is_offered(app, shopper, stripe_on):
    html, _ = checkout_form(shopper)
    assert 'value="card"' in html


def test_checkout_opens_a_stripe_session_in_whole_dong_with_a_key_from_the_purchase(app, shopper, stripe_on, buyer):
    _html, data = checkout_form(shopper)
    response = post_form(shopper, f"/checkout?province={PROVINCE}", data)
    assert response.status_code == 302
    [call] = stripe_on.calls("POST", "/v1/checkout/sessions")
    state = load(app, next(iter(stripe_on.sessions.values()))["client_reference_id"])
    number = stripe_on.sessions[state["session_id"]]["client_reference_id"]
    assert response.location == f"{stripe_on.url}/pay/{state['session_id']}"
    assert call.idempotency_key == f"checkout-{number}"
    form = call.form
    assert form["mode"] == "payment" and form["currency"] == "vnd"
    # VND is zero-decimal: one line per cooperative order, in đồng, never ×100.
    amounts = sorted(int(form[f"line_items[{i}][price_data][unit_amount]"]) for i in range(2))
    assert amounts == [80_000, 120_000]
    assert {form[f"line_items[{i}][price_data][currency]"] for i in range(2)} == {"vnd"}
    assert form["client_reference_id"] == number
    assert form["metadata[purchase_id]"] == str(state["purchase_id"])
    assert form["customer_email"] == buyer.email
    assert form["success_url"].endswith(f"/orders/{number}?card=done")
    assert form["cancel_url"].endswith(f"/orders/{number}?card=back")
    assert set(state["orders"].values()) == {"pending_payment"}
    assert state["checkout"] == "open"
    # The page closes when the orders lapse (ORDER_PAYMENT_TIMEOUT_MINUTES, 60 by default).
    with app.app_context():
        from ktt_market.orders.models import Order

        deadline = db.session.scalar(select(Order.expires_at).limit(1))
        assert int(form["expires_at"]) == int(deadline.timestamp())


def test_a_deadline_shorter_than_stripe_allows_is_clamped_to_30_minutes(app, stripe_on, buyer, products, place):
    from ktt_market.orders.models import Purchase
    from ktt_market.payments.card import open_checkout

    app.config["ORDER_PAYMENT_TIMEOUT_MINUTES"] = 10
    try:
        number = place(buyer, {products["pomelo"]: 1}, payment_method="card")
    finally:
        app.config["ORDER_PAYMENT_TIMEOUT_MINUTES"] = 60
    now = dt.datetime.now(dt.UTC)
    with app.test_request_context():
        open_checkout(db.session.scalar(select(Purchase).where(Purchase.number == number)), now=now)
        db.session.commit()
        db.session.remove()
    [call] = stripe_on.calls("POST", "/v1/checkout/sessions")
    assert int(call.form["expires_at"]) == int((now + dt.timedelta(minutes=31)).timestamp())


def test_stripe_unreachable_keeps_the_order_and_pay_by_card_retries_with_the_same_key(
    app, shopper, stripe_on, monkeypatch
):
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nobody listens there
    _html, data = checkout_form(shopper)
    response = post_form(shopper, f"/checkout?province={PROVINCE}", data)
    assert response.status_code == 302
    number = re.search(r"/orders/(KTT-\w+)$", response.location).group(1)
    html = page(shopper.get(response.location))
    assert "We could not reach the card payment service" in html
    assert "Pay by card" in html
    assert set(load(app, number)["orders"].values()) == {"pending_payment"}

    # Still away: the button answers 422 with the message, nothing changes.
    response = post_form(shopper, f"/orders/{number}/pay-by-card")
    assert response.status_code == 422
    assert "We could not reach the card payment service" in page(response)

    monkeypatch.setitem(app.config, "STRIPE_API_BASE", stripe_on.url)  # back
    response = post_form(shopper, f"/orders/{number}/pay-by-card")
    assert response.status_code == 302
    assert response.location.startswith(f"{stripe_on.url}/pay/cs_test_")
    again = post_form(shopper, f"/orders/{number}/pay-by-card")
    assert again.location == response.location  # the open session is reused
    assert [c.idempotency_key for c in stripe_on.calls("POST", "/v1/checkout/sessions")] == [f"checkout-{number}"]


def test_pay_by_card_needs_the_csrf_token_and_is_only_for_the_buyer(
    app, card_purchase, client, login, make_user, stripe_on
):
    login(client, make_user())
    assert post_form(client, f"/orders/{card_purchase}/pay-by-card").status_code == 404


def test_the_full_card_journey(app, shopper, stripe_on, send_event, coops, staff_a, login, stock_of, products):
    from ktt_market.payments import tasks

    a, b = coops
    _html, data = checkout_form(shopper)
    response = post_form(shopper, f"/checkout?province={PROVINCE}", data)
    session_id = response.location.rsplit("/", 1)[1]
    number = stripe_on.sessions[session_id]["client_reference_id"]

    # The buyer pays on Stripe's page; the success redirect alone records nothing.
    stripe_on.pay(session_id, payment_intent="pi_journey")
    shopper.get(f"/orders/{number}?card=done")
    assert set(load(app, number)["orders"].values()) == {"pending_payment"}
    assert send_event("checkout.session.completed", stripe_on.sessions[session_id]).status_code == 200
    state = load(app, number)
    assert set(state["orders"].values()) == {"placed"}
    assert state["ledger"] == {a.id: 120_000 - 3_600, b.id: 80_000 - 2_400}  # sale − 3 % fee

    # HTX A rejects its order: a refund is asked of Stripe.
    with app.app_context():
        from ktt_market.orders.models import Order

        order_a = db.session.scalar(select(Order.id).where(Order.unit_id == a.id))
    staff_client = app.test_client()
    login(staff_client, staff_a)
    response = post_form(staff_client, f"/orders/units/{a.id}/{order_a}/reject", {"reason": "Hết hàng"})
    assert response.status_code == 302
    state = load(app, number)
    assert state["orders"][order_a] == "cancelled"
    [(refund_order, amount, status, provider_ref)] = state["refunds"]
    assert (refund_order, amount, status, provider_ref) == (order_a, 120_000, "pending", None)

    with app.app_context():
        from ktt_market.payments.models import Refund

        refund_id = db.session.scalar(select(Refund.id))
        assert tasks.send_refund(refund_id) == "pending"
        db.session.remove()
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert call.idempotency_key == f"refund-{refund_id}"
    assert call.form["amount"] == "120000" and call.form["payment_intent"] == "pi_journey"
    assert call.form["metadata[refund_id]"] == str(refund_id)
    assert load(app, number)["orders"][order_a] == "cancelled"  # not refunded until Stripe confirms

    stripe_refund = dict(next(iter(stripe_on.refunds.values())), status="succeeded")
    assert send_event("refund.updated", stripe_refund).status_code == 200
    state = load(app, number)
    assert state["orders"][order_a] == "refunded"
    assert state["refunds"][0][2:] == ("succeeded", stripe_refund["id"])
    assert state["ledger"][a.id] == 0  # sale − fee − refund + fee returned
    assert state["ledger"][b.id] == 80_000 - 2_400
    assert stock_of(products["pomelo"]) == 10


def test_a_refund_event_before_the_refund_knows_its_stripe_id(app, card_purchase, stripe_on, send_event, buyer):
    from ktt_market.accounts.models import User
    from ktt_market.orders.models import Order
    from ktt_market.orders.services import cancel_order
    from ktt_market.payments.models import Refund

    session_id = load(app, card_purchase)["session_id"]
    send_event("checkout.session.completed", stripe_on.pay(session_id, payment_intent="pi_x"))
    first = load(app, card_purchase)["order_ids"][0]
    with app.test_request_context():
        cancel_order(db.session.get(Order, first), actor=db.session.get(User, buyer.id), reason="Đổi ý")
        db.session.commit()
        refund_id = db.session.scalar(select(Refund.id))
        db.session.remove()
    # Stripe's webhook overtakes the answer to our refund request: matched by our metadata.
    stripe_refund = {"id": "re_early", "status": "succeeded", "metadata": {"refund_id": str(refund_id)}}
    assert send_event("charge.refunded", {"id": "ch_1", "refunds": {"data": [stripe_refund]}}).status_code == 200
    state = load(app, card_purchase)
    assert state["refunds"] == [(first, 120_000, "succeeded", "re_early")]
    assert state["orders"][first] == "refunded"


def test_a_refund_stripe_refuses_makes_the_amount_refundable_again(app, card_purchase, stripe_on, send_event, buyer):
    from ktt_market.accounts.models import User
    from ktt_market.orders.models import Order
    from ktt_market.orders.services import cancel_order
    from ktt_market.payments import tasks
    from ktt_market.payments.models import Refund

    send_event("checkout.session.completed", stripe_on.pay(load(app, card_purchase)["session_id"]))
    first = load(app, card_purchase)["order_ids"][0]
    with app.test_request_context():
        cancel_order(db.session.get(Order, first), actor=db.session.get(User, buyer.id), reason="Đổi ý")
        db.session.commit()
        refund_id = db.session.scalar(select(Refund.id))
        tasks.send_refund(refund_id)
        db.session.remove()
    stripe_refund = dict(
        next(iter(stripe_on.refunds.values())), status="failed", failure_reason="expired_or_canceled_card"
    )
    assert send_event("refund.failed", stripe_refund).status_code == 200
    state = load(app, card_purchase)
    assert state["refunds"][0][2] == "failed"
    assert state["orders"][first] == "cancelled"


def test_refunds_never_sent_are_retried_and_the_broker_down_breaks_nothing(
    app, card_purchase, stripe_on, send_event, buyer, monkeypatch
):
    from ktt_market.accounts.models import User
    from ktt_market.orders.models import Order
    from ktt_market.orders.services import cancel_order
    from ktt_market.payments import tasks
    from ktt_market.payments.models import Refund

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker away")

    queued = []
    monkeypatch.setitem(app.config, "PAYMENTS_KICK_AFTER_COMMIT", True)
    monkeypatch.setattr(tasks.refund, "apply_async", lambda *a, **k: (queued.append(a), broker_down())[1])
    send_event("checkout.session.completed", stripe_on.pay(load(app, card_purchase)["session_id"]))
    first = load(app, card_purchase)["order_ids"][0]
    with app.test_request_context():
        cancel_order(db.session.get(Order, first), actor=db.session.get(User, buyer.id), reason="Đổi ý")
        db.session.commit()  # the kick fails quietly: the refund row is safe
        refund_id = db.session.scalar(select(Refund.id))
        db.session.remove()
    assert queued == [((refund_id,),)]
    assert not stripe_on.calls("POST", "/v1/refunds")

    with app.app_context():
        assert tasks.retry_refunds.run() == 0  # too young: its own task may still come
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        db.session.execute(Refund.__table__.update().values(created_at=old))
        db.session.commit()
        assert tasks.retry_refunds.run() == 1
        assert tasks.retry_refunds.run() == 0  # sent: it has its Stripe id now
        db.session.remove()
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert call.idempotency_key == f"refund-{refund_id}"


def test_cancelling_before_paying_closes_the_payment_and_stripe_page(app, card_purchase, stripe_on, buyer):
    from ktt_market.accounts.models import User
    from ktt_market.orders.models import Order
    from ktt_market.orders.services import cancel_order
    from ktt_market.payments import tasks

    state = load(app, card_purchase)
    with app.test_request_context():
        actor = db.session.get(User, buyer.id)
        for order_id in state["order_ids"]:
            cancel_order(db.session.get(Order, order_id), actor=actor, reason="Đổi ý")
        db.session.commit()
        db.session.remove()
    after = load(app, card_purchase)
    assert {p[0] for p in after["payments"].values()} == {"cancelled"}
    assert after["checkout"] == "expired"
    with app.app_context():
        assert tasks.expire_checkout.run(state["session_id"]) == "expired"
    assert stripe_on.sessions[state["session_id"]]["status"] == "expired"
    assert not after["refunds"]


# ---------------------------------------------------------------- returns approved by an officer


@pytest.fixture
def delivered(app, card_purchase, stripe_on, send_event, coops, staff_a):
    """HTX A's part of a card purchase, paid and delivered by its staff; its order id."""
    from ktt_market.accounts.models import User
    from ktt_market.orders import services
    from ktt_market.orders.models import Order

    send_event("checkout.session.completed", stripe_on.pay(load(app, card_purchase)["session_id"], "pi_ret"))
    with app.test_request_context():
        order = db.session.scalar(select(Order).where(Order.unit_id == coops[0].id))
        staff = db.session.get(User, staff_a.id)
        services.confirm_order(order, actor=staff)
        services.ship_order(order, actor=staff, carrier="Viettel Post", tracking_code="VT123")
        services.deliver_order(order, actor=staff)
        db.session.commit()
        order_id = order.id
        db.session.remove()
    return order_id


def test_an_officer_of_the_province_approves_a_partial_return(app, delivered, client, login, make_user, card_purchase):
    officer = make_user("officer", PROVINCE)
    login(client, officer)
    html = page(client.get(f"/payments/returns?number={card_purchase}"))
    assert f"/payments/returns/{delivered}" in html
    assert "Approve a return" in page(client.get(f"/payments/returns/{delivered}"))

    too_much = post_form(client, f"/payments/returns/{delivered}", {"amount_vnd": "200000", "reason": "Hàng dập"})
    assert too_much.status_code == 422
    assert "can still be refunded." in page(too_much)
    no_reason = post_form(client, f"/payments/returns/{delivered}", {"amount_vnd": "50000", "reason": ""})
    assert no_reason.status_code == 422
    assert "Give a reason" in page(no_reason)
    assert load(app, card_purchase)["refunds"] == []

    response = post_form(client, f"/payments/returns/{delivered}", {"amount_vnd": "50000", "reason": "Hàng dập"})
    assert response.status_code == 302
    state = load(app, card_purchase)
    assert state["refunds"] == [(delivered, 50_000, "pending", None)]
    assert state["orders"][delivered] == "delivered"  # partly refunded: still delivered


def test_officers_of_another_province_and_buyers_get_404(app, delivered, client, login, make_user, buyer):
    from tests.orders.conftest import OTHER_PROVINCE

    login(client, make_user("officer", OTHER_PROVINCE))
    assert client.get(f"/payments/returns/{delivered}").status_code == 404
    assert post_form(client, f"/payments/returns/{delivered}", {"reason": "x"}).status_code == 404
    other = app.test_client()
    login(other, buyer)
    assert other.get(f"/payments/returns/{delivered}").status_code == 404
    assert other.get("/payments/returns").status_code == 404
