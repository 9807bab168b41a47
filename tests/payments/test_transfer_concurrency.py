"""Recording a transfer while the same order lapses, and twice at once, on PostgreSQL: one outcome, no deadlock."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from flask_babel import force_locale

from ktt_market.accounts.models import User
from ktt_market.core.errors import ServiceError
from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.orders.models import OrderStatus
from ktt_market.orders.states import expire_unpaid_orders
from ktt_market.payments.models import PaymentStatus
from ktt_market.payments.transfers import record_transfer

from .transfer_support import *  # noqa: F403  (fixtures)
from .transfer_support import ledger_rows, payments_of

pytestmark = pytest.mark.postgres_only

ROUNDS = 5


def run_together(*works) -> list:
    """Run each work(barrier) in its own thread, released together; return what each returned or raised."""
    barrier = threading.Barrier(len(works), timeout=30)
    results: list = [None] * len(works)

    def runner(i: int) -> None:
        try:
            results[i] = works[i](barrier)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def _recorder(app, actor_id: int, reference: str, amount: int):
    def work(barrier):
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, actor_id)
                db.session.commit()
                barrier.wait()
                _payment, done = record_transfer(reference, amount, actor=actor)
                db.session.commit()
                return "recorded" if done else "already"
            except ServiceError as exc:
                db.session.rollback()
                return exc.message
            finally:
                db.session.remove()

    return work


def _expirer(app, when: dt.datetime):
    def work(barrier):
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                barrier.wait()
                done = expire_unpaid_orders(when)
                db.session.commit()
                return done
            finally:
                db.session.remove()

    return work


def test_recording_while_the_order_lapses_gives_one_outcome(
    app, buyer, admin, products, place, platform_account, stock_of
):
    for _round in range(ROUNDS):
        number = place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
        [payment] = payments_of(app, number)
        results = run_together(
            _recorder(app, admin.id, payment["reference"], 60_000),
            _expirer(app, utcnow() + dt.timedelta(hours=2)),
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        after = payments_of(app, number)[0]
        if results[0] == "recorded":
            assert (after["status"], after["order_status"]) == (PaymentStatus.SUCCEEDED, OrderStatus.PLACED)
            assert results[1] == 0
        else:
            assert "Refund the transfer to the buyer" in results[0]
            assert (after["status"], after["order_status"]) == (PaymentStatus.EXPIRED, OrderStatus.CANCELLED)
            assert results[1] == 1
    # Stock: each recorded order keeps its pomelo, each lapsed one gave it back.
    sold = sum(1 for entry in ledger_rows(app) if entry[1].value == "sale")
    assert stock_of(products["pomelo"]) == 10 - sold


def test_the_same_transfer_recorded_twice_at_once_counts_once(
    app, buyer, admin, officer, products, place, platform_account
):
    number = place(buyer, {products["pomelo"]: 2}, payment_method="bank_transfer")
    [payment] = payments_of(app, number)
    results = run_together(
        _recorder(app, admin.id, payment["reference"], 120_000),
        _recorder(app, officer.id, payment["reference"], 120_000),
    )
    assert sorted(results) == ["already", "recorded"], results
    assert [kind.value for _unit, kind, _amount in ledger_rows(app)] == ["sale", "fee"]
