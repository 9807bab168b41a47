"""Stripe's webhook: signatures checked over the raw body, each event once, events in any order."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from ktt_market.extensions import db
from ktt_market.payments.models import StripeEvent
from tests.support.fake_stripe import event, sign

from .card_support import *  # noqa: F403
from .card_support import WEBHOOK, WEBHOOK_SECRET, count, load

pytestmark = pytest.mark.core

FEE = 3  # percent (PLATFORM_FEE_BPS default 300)


def paid_session(fake, app, number, intent="pi_test_1"):
    state = load(app, number)
    return fake.pay(state["session_id"], payment_intent=intent)


def test_a_signed_completed_event_places_the_orders_and_credits_the_cooperatives(
    app, card_purchase, stripe_on, send_event, coops
):
    session = paid_session(stripe_on, app, card_purchase)
    response = send_event("checkout.session.completed", session)
    assert response.status_code == 200
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"placed"}
    assert {p[:2] for p in state["payments"].values()} == {("succeeded", "pi_test_1")}
    assert state["checkout"] == "complete"
    a, b = coops
    assert state["ledger"] == {a.id: 120_000 - 3_600, b.id: 80_000 - 2_400}
    assert count(app, StripeEvent) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, good: (body.replace('"paid"', '"paid" '), good), id="tampered-body"),
        pytest.param(lambda body, good: (body, sign(body, "whsec_someone_else")), id="wrong-secret"),
        pytest.param(lambda body, good: (body, sign(body, WEBHOOK_SECRET, int(time.time()) - 301)), id="stale"),
        pytest.param(lambda body, good: (body, None), id="missing-header"),
        pytest.param(lambda body, good: (body, "t=123,v1=deadbeef"), id="garbage-header"),
    ],
)
def test_unsigned_tampered_or_stale_calls_get_400_and_change_nothing(app, card_purchase, stripe_on, tamper):
    session = paid_session(stripe_on, app, card_purchase)
    body = json.dumps(event("checkout.session.completed", session))
    body, header = tamper(body, sign(body, WEBHOOK_SECRET))
    headers = {"Stripe-Signature": header} if header else {}
    response = app.test_client().post(WEBHOOK, data=body, headers=headers, content_type="application/json")
    assert response.status_code == 400
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"pending_payment"}
    assert state["entries"] == 0
    assert count(app, StripeEvent) == 0


def test_a_signature_within_the_tolerance_is_accepted(app, card_purchase, stripe_on, send_event):
    session = paid_session(stripe_on, app, card_purchase)
    response = send_event("checkout.session.completed", session, timestamp=int(time.time()) - 250)
    assert response.status_code == 200
    assert set(load(app, card_purchase)["orders"].values()) == {"placed"}


def test_the_same_event_five_times_has_one_effect(app, card_purchase, stripe_on, send_event):
    session = paid_session(stripe_on, app, card_purchase)
    answers = [send_event("checkout.session.completed", session, event_id="evt_once") for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert [r.get_data(as_text=True) for r in answers[1:]] == ["already processed"] * 4
    state = load(app, card_purchase)
    assert state["entries"] == 4  # sale and fee, for each of the two cooperatives
    assert count(app, StripeEvent) == 1
    with app.app_context():
        from sqlalchemy import func, select

        from ktt_market.extensions import db
        from ktt_market.orders.models import OrderEvent

        placed = db.session.scalar(select(func.count()).where(OrderEvent.to_status == "placed"))
        assert placed == 2


def test_async_success_before_completed_fetches_the_session_and_completed_then_changes_nothing(
    app, card_purchase, stripe_on, send_event
):
    session_id = load(app, card_purchase)["session_id"]
    # The event's copy says too little on its own: the handler asks Stripe how the session stands.
    stripe_on.pay(session_id, payment_intent="pi_async")
    stale = dict(stripe_on.sessions[session_id], payment_status="unpaid")
    assert send_event("checkout.session.async_payment_succeeded", stale).status_code == 200
    assert stripe_on.calls("GET", f"/v1/checkout/sessions/{session_id}")
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"placed"}
    entries = state["entries"]

    completed = dict(stripe_on.sessions[session_id], payment_status="unpaid")  # completed, still unpaid then
    assert send_event("checkout.session.completed", completed).status_code == 200
    after = load(app, card_purchase)
    assert set(after["orders"].values()) == {"placed"}
    assert after["entries"] == entries


def test_a_completed_but_unpaid_session_waits_and_an_async_failure_cancels_the_orders(
    app, card_purchase, stripe_on, send_event, products, stock_of
):
    session_id = load(app, card_purchase)["session_id"]
    unpaid = stripe_on.pay(session_id, payment_intent="pi_slow", payment_status="unpaid")
    assert send_event("checkout.session.completed", unpaid).status_code == 200
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"pending_payment"}
    assert state["checkout"] == "complete"
    assert send_event("checkout.session.async_payment_failed", unpaid).status_code == 200
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"cancelled"}
    assert {p[0] for p in state["payments"].values()} == {"failed"}
    assert stock_of(products["pomelo"]) == 10 and stock_of(products["coconut"]) == 3


def test_an_expired_session_cancels_the_orders_and_returns_the_stock(
    app, card_purchase, stripe_on, send_event, products, stock_of
):
    assert stock_of(products["pomelo"]) == 8
    session = dict(stripe_on.sessions[load(app, card_purchase)["session_id"]], status="expired")
    assert send_event("checkout.session.expired", session).status_code == 200
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"cancelled"}
    assert {p[0] for p in state["payments"].values()} == {"expired"}
    assert state["checkout"] == "expired"
    assert stock_of(products["pomelo"]) == 10 and stock_of(products["coconut"]) == 3


def test_expired_after_completed_changes_nothing(app, card_purchase, stripe_on, send_event):
    session = paid_session(stripe_on, app, card_purchase)
    send_event("checkout.session.completed", session)
    before = load(app, card_purchase)
    assert send_event("checkout.session.expired", dict(session, status="expired")).status_code == 200
    after = load(app, card_purchase)
    assert after["orders"] == before["orders"] and after["payments"] == before["payments"]
    assert after["checkout"] == "complete" and after["entries"] == before["entries"]


def test_a_declined_card_is_noted_and_the_buyer_can_try_again(app, card_purchase, stripe_on, send_event):
    state = load(app, card_purchase)
    intent = {
        "id": "pi_declined",
        "object": "payment_intent",
        "metadata": {"purchase_id": str(state["purchase_id"]), "order_ids": ",".join(map(str, state["order_ids"]))},
        "last_payment_error": {"message": "Your card was declined."},
    }
    assert send_event("payment_intent.payment_failed", intent).status_code == 200
    state = load(app, card_purchase)
    assert {p[0] for p in state["payments"].values()} == {"pending"}
    assert {p[2] for p in state["payments"].values()} == {"Your card was declined."}
    assert set(state["orders"].values()) == {"pending_payment"}
    # Then the second card works: the reason goes.
    send_event("checkout.session.completed", paid_session(stripe_on, app, card_purchase))
    assert {p[:3:2] for p in load(app, card_purchase)["payments"].values()} == {("succeeded", None)}


def test_an_unknown_session_is_answered_200_and_changes_nothing(app, card_purchase, stripe_on, send_event):
    response = send_event("checkout.session.completed", {"id": "cs_other", "payment_status": "paid"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "unknown session"
    assert set(load(app, card_purchase)["orders"].values()) == {"pending_payment"}


def test_money_for_an_order_cancelled_meanwhile_is_recorded_and_refunded(
    app, card_purchase, stripe_on, send_event, buyer
):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.orders.models import Order
    from ktt_market.orders.services import cancel_order

    first, second = load(app, card_purchase)["order_ids"]
    session = paid_session(stripe_on, app, card_purchase)  # paid on the page left open…
    with app.test_request_context():
        cancel_order(db.session.get(Order, first), actor=db.session.get(User, buyer.id), reason="Đổi ý")
        db.session.commit()
        db.session.remove()
    assert send_event("checkout.session.completed", session).status_code == 200  # …while it was cancelled
    state = load(app, card_purchase)
    assert state["orders"] == {first: "cancelled", second: "placed"}
    assert state["payments"][first][0] == "succeeded"
    assert state["refunds"] == [(first, 120_000, "pending", None)]


def test_stripe_away_while_handling_asks_for_a_retry_and_records_nothing(
    app, card_purchase, stripe_on, send_event, monkeypatch
):
    session_id = load(app, card_purchase)["session_id"]
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nobody listens there
    response = send_event("checkout.session.async_payment_succeeded", {"id": session_id, "payment_status": "paid"})
    assert response.status_code == 503
    assert count(app, StripeEvent) == 0


def test_a_missed_webhook_is_caught_up_by_asking_stripe(app, card_purchase, stripe_on, send_event):
    from ktt_market.payments import tasks

    session_id = load(app, card_purchase)["session_id"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    with app.app_context():
        assert tasks.sync_open_checkouts(now=later) == 0  # still open at Stripe: nothing to record
        stripe_on.pay(session_id, payment_intent="pi_missed")  # paid; the webhook never arrives
        assert tasks.sync_open_checkouts() == 0  # too recent to ask about
        assert tasks.sync_open_checkouts(now=later) == 1
        db.session.remove()
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"placed"}
    assert {p[:2] for p in state["payments"].values()} == {("succeeded", "pi_missed")}
    entries = state["entries"]
    # The webhook arrives after all: nothing more happens.
    assert send_event("checkout.session.completed", stripe_on.sessions[session_id]).status_code == 200
    assert load(app, card_purchase)["entries"] == entries


def test_a_session_that_expired_unseen_cancels_its_orders_on_catching_up(
    app, card_purchase, stripe_on, products, stock_of
):
    from ktt_market.payments import tasks

    session_id = load(app, card_purchase)["session_id"]
    stripe_on.sessions[session_id]["status"] = "expired"
    with app.app_context():
        assert tasks.sync_open_checkouts(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)) == 1
        db.session.remove()
    state = load(app, card_purchase)
    assert set(state["orders"].values()) == {"cancelled"}
    assert stock_of(products["pomelo"]) == 10


@pytest.mark.postgres_only
def test_the_same_event_delivered_twice_at_the_same_moment_counts_once(app, card_purchase, stripe_on):
    import threading

    session = paid_session(stripe_on, app, card_purchase)
    body = json.dumps(event("checkout.session.completed", session, "evt_twins"))
    headers = {"Stripe-Signature": sign(body, WEBHOOK_SECRET)}
    barrier = threading.Barrier(4)
    answers = []

    def deliver():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(WEBHOOK, data=body, headers=headers, content_type="application/json"))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in answers) == [200] * 4
    assert count(app, StripeEvent) == 1
    assert load(app, card_purchase)["entries"] == 4
