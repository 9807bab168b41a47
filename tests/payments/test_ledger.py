"""Ledger arithmetic: sales less fees, partial refunds giving the fee back exactly, payouts, append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from ktt_market.extensions import db
from ktt_market.payments import ledger
from ktt_market.payments.models import EntryKind, LedgerEntry, Payment

from .conftest import read_balance

pytestmark = pytest.mark.core


def kinds_and_amounts(app, unit) -> list[tuple[str, int]]:
    with app.app_context():
        rows = [
            (str(kind), amount)
            for kind, amount in db.session.execute(
                select(LedgerEntry.kind, LedgerEntry.amount_vnd)
                .where(LedgerEntry.unit_id == unit.id)
                .order_by(LedgerEntry.id)
            )
        ]
        db.session.remove()
    return rows


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(370_000, 11_100), (80_001, 2_400), (50, 2), (49, 1), (16, 0), (17, 1), (1, 0)],
)
def test_fee_is_three_percent_rounded_half_up(app, amount, fee):
    with app.app_context():
        assert ledger.fee_for(amount) == fee


def test_fee_follows_the_configured_rate(app):
    assert ledger.fee_for(370_000, bps=0) == 0
    assert ledger.fee_for(370_000, bps=10_000) == 370_000
    assert ledger.fee_for(80_001, bps=250) == 2_000  # 2.000,025 rounds down
    assert ledger.fee_for(2, bps=2_500) == 1  # 0,5 rounds up


def test_a_sale_credits_the_amount_less_the_fee(app, ledger_coop, ledger_sale):
    ledger_sale(ledger_coop, 370_000)
    assert kinds_and_amounts(app, ledger_coop) == [("sale", 370_000), ("fee", -11_100)]
    assert read_balance(app, ledger_coop) == (358_900, 358_900)


def test_booking_the_same_cause_twice_adds_nothing(app, ledger_coop, ledger_sale):
    from ktt_market.payments.services import payment_succeeded

    sale = ledger_sale(ledger_coop, 80_001)
    with app.app_context(), app.test_request_context():
        payment = db.session.get(Payment, sale.payment_id)
        assert ledger.book_sale(payment) == []
        assert payment_succeeded(payment, actor=None) is False
        db.session.commit()
        db.session.remove()
    assert kinds_and_amounts(app, ledger_coop) == [("sale", 80_001), ("fee", -2_400)]
    assert read_balance(app, ledger_coop) == (77_601, 77_601)


def test_three_refunds_of_a_third_return_exactly_the_whole_fee(app, ledger_coop, ledger_sale, ledger_refund):
    sale = ledger_sale(ledger_coop, 80_001)  # fee 2.400
    for _ in range(3):
        ledger_refund(sale, 26_667)
    entries = kinds_and_amounts(app, ledger_coop)
    fee_back = [amount for kind, amount in entries if kind == "fee_refund"]
    assert fee_back == [800, 800, 800]
    assert sum(fee_back) == 2_400 == ledger.fee_for(80_001, bps=300)
    assert [amount for kind, amount in entries if kind == "refund"] == [-26_667, -26_667, -26_667]
    # Everything given back: the cooperative is owed nothing, and the platform keeps no fee.
    assert read_balance(app, ledger_coop) == (0, 0)


def test_uneven_partial_refunds_add_up_to_the_fee_of_a_full_refund(app, ledger_coop, ledger_sale, ledger_refund):
    sale = ledger_sale(ledger_coop, 10_001)  # fee 300
    ledger_refund(sale, 3_333)
    ledger_refund(sale, 3_334)
    ledger_refund(sale, 3_334)
    fee_back = [amount for kind, amount in kinds_and_amounts(app, ledger_coop) if kind == "fee_refund"]
    assert sum(fee_back) == 300
    assert read_balance(app, ledger_coop) == (0, 0)


def test_a_part_refund_keeps_the_fee_on_what_was_kept(app, ledger_coop, ledger_sale, ledger_refund):
    sale = ledger_sale(ledger_coop, 370_000)  # fee 11.100
    ledger_refund(sale, 70_000)  # fee back: 11.100 × 70/370 = 2.100
    assert kinds_and_amounts(app, ledger_coop)[-2:] == [("refund", -70_000), ("fee_refund", 2_100)]
    # What is left: 300.000 sold, 9.000 fee (3 % of it).
    assert read_balance(app, ledger_coop) == (291_000, 291_000)


def test_payouts_and_refunds_after_a_payout_keep_balance_the_sum_of_entries(
    app, ledger_coop, ledger_sale, ledger_refund, make_user
):
    from ktt_market.payments.payouts import PayoutLine, new_run_key, record_payouts

    admin = make_user(role="admin")
    first = ledger_sale(ledger_coop, 370_000)
    ledger_sale(ledger_coop, 80_001)
    assert read_balance(app, ledger_coop) == (358_900 + 77_601,) * 2
    with app.app_context(), app.test_request_context():
        record_payouts(
            [PayoutLine(ledger_coop.id, 400_000, "FT26331000001")], actor=db.session.merge(admin), key=new_run_key()
        )
        db.session.commit()
        db.session.remove()
    assert read_balance(app, ledger_coop) == (36_501, 36_501)
    # A refund after the payout may leave the cooperative owing the platform: the balance goes negative.
    ledger_refund(first, None)
    assert read_balance(app, ledger_coop) == (36_501 - 358_900,) * 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 7
        db.session.remove()


def test_an_entry_cannot_be_changed_or_deleted(app, ledger_coop, ledger_sale):
    ledger_sale(ledger_coop, 370_000)
    with app.app_context():
        entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.FEE)).one()
        entry.amount_vnd = 0
        with pytest.raises(ledger.AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.FEE)).one()
        db.session.delete(entry)
        with pytest.raises(ledger.AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    assert read_balance(app, ledger_coop) == (358_900, 358_900)


@pytest.mark.postgres_only
def test_postgresql_refuses_update_and_delete_behind_the_orm(app, ledger_coop, ledger_sale):
    from sqlalchemy.exc import DBAPIError

    ledger_sale(ledger_coop, 370_000)
    for statement in ("UPDATE ledger_entries SET amount_vnd = 0", "DELETE FROM ledger_entries"):
        with app.app_context():
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
            db.session.remove()
    assert read_balance(app, ledger_coop) == (358_900, 358_900)


# ---------------------------------------------------------------- statements


VN = dt.timezone(dt.timedelta(hours=7))


def test_periods_are_months_in_vietnam_time(app, ledger_coop, ledger_entry_at):
    # 23:59 on 31 October in Vietnam is October; 00:30 on 1 November is November, though still October in UTC.
    ledger_entry_at(ledger_coop, EntryKind.SALE, 100_000, dt.datetime(2026, 10, 31, 23, 59, tzinfo=VN), "t:1")
    ledger_entry_at(ledger_coop, EntryKind.SALE, 200_000, dt.datetime(2026, 11, 1, 0, 30, tzinfo=VN), "t:2")
    ledger_entry_at(ledger_coop, EntryKind.FEE, -6_000, dt.datetime(2026, 11, 1, 0, 30, 1, tzinfo=VN), "t:3")
    ledger_entry_at(ledger_coop, EntryKind.REFUND, -50_000, dt.datetime(2026, 11, 15, 9, 0, tzinfo=VN), "t:4")
    ledger_entry_at(ledger_coop, EntryKind.FEE_REFUND, 1_500, dt.datetime(2026, 11, 15, 9, 0, 1, tzinfo=VN), "t:5")
    ledger_entry_at(ledger_coop, EntryKind.PAYOUT, -100_000, dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=VN), "t:6")
    ledger_entry_at(ledger_coop, EntryKind.SALE, 7_000, dt.datetime(2026, 12, 1, 0, 0, tzinfo=VN), "t:7")
    with app.app_context():
        november = ledger.Period.month(2026, 11)
        assert november.start_utc == dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)
        totals = ledger.period_totals(ledger_coop.id, november)
        assert totals == ledger.PeriodTotals(
            opening=100_000,
            collected=200_000,
            fees=-6_000,
            refunds=-50_000,
            fee_returned=1_500,
            paid_out=-100_000,
            closing=145_500,
        )
        lines = ledger.statement_lines(db.session.scalars(ledger.statement_query(ledger_coop.id, november)).all())
        assert [line.balance_after for line in lines] == [300_000, 294_000, 244_000, 245_500, 145_500]
        # A page that starts mid-month carries on from the entries before it.
        later = ledger.statement_lines(db.session.scalars(ledger.statement_query(ledger_coop.id, november)).all()[3:])
        assert [line.balance_after for line in later] == [245_500, 145_500]
        assert ledger.period_totals(ledger_coop.id, ledger.Period.month(2026, 12)).opening == 145_500
        assert ledger.Period.month(2026, 12).end == dt.date(2027, 1, 1)
        assert ledger.balance(ledger_coop.id) == 152_500
        db.session.remove()
