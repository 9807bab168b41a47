"""Each cooperative's account with the platform: what was collected for it, fees, refunds, payouts.

Entries are only ever added, each under a key naming its cause, so booking the same cause twice
adds nothing; a balance is the sum of the unit's entries. Only money the platform collected (card
payments, transfers to the platform's account) enters the ledger: cash on delivery and transfers
to the cooperative's own account never pass through the platform.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, event, func, or_, select
from sqlalchemy.orm import Session

from ..core.i18n import VN_TZ, local_time
from ..core.spreadsheets import write_xlsx
from ..extensions import db
from ..orders.models import Order, Purchase
from .models import Collector, EntryKind, LedgerEntry, Payment, Payout, Refund


class AppendOnlyError(RuntimeError):
    """Somebody tried to change or delete a ledger entry."""


def fee_bps() -> int:
    """Return the platform fee in basis points of a sale (PLATFORM_FEE_BPS, default 300 = 3%)."""
    return int(current_app.config.get("PLATFORM_FEE_BPS", 300))


def fee_for(amount_vnd: int, bps: int | None = None) -> int:
    """Return the fee on `amount_vnd` in whole đồng, rounded half up."""
    bps = fee_bps() if bps is None else bps
    return (amount_vnd * bps + 5_000) // 10_000


def _book(unit_id: int, key: str, kind: EntryKind, amount_vnd: int, **refs) -> LedgerEntry | None:
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == key)) is not None:
        return None  # booked already: the same cause never counts twice
    entry = LedgerEntry(unit_id=unit_id, key=key, kind=kind, amount_vnd=amount_vnd, **refs)
    db.session.add(entry)
    return entry


def book_sale(payment: Payment) -> list[LedgerEntry]:
    """Credit the cooperative with a payment the platform collected, less the platform's fee."""
    if payment.collector is not Collector.PLATFORM:
        return []
    order = payment.order
    booked = [
        _book(order.unit_id, f"sale:order:{order.id}", EntryKind.SALE, payment.amount_vnd, order_id=order.id),
        _book(order.unit_id, f"fee:order:{order.id}", EntryKind.FEE, -fee_for(payment.amount_vnd), order_id=order.id),
    ]
    db.session.flush()
    return [entry for entry in booked if entry is not None]


def _sum(*conditions) -> int:
    """Return the sum of the entries matching `conditions` (0 for none)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(*conditions)) or 0)


def book_refund(refund: Refund) -> list[LedgerEntry]:
    """Debit a confirmed refund, and give back the fee's share of it.

    The fee returned is computed on the running total refunded, so refunds that add up to the whole
    payment return exactly the whole fee, whatever the rounding of each part.
    """
    payment = refund.payment
    if payment.collector is not Collector.PLATFORM:
        return []
    order = payment.order
    fee_charged = -_sum(LedgerEntry.key == f"fee:order:{order.id}")
    others = (LedgerEntry.order_id == order.id, LedgerEntry.refund_id != refund.id)
    refunded_before = _sum(*others, LedgerEntry.kind == EntryKind.REFUND)
    fee_back_before = _sum(*others, LedgerEntry.kind == EntryKind.FEE_REFUND)
    refunded_total = -refunded_before + refund.amount_vnd
    fee_back_total = (fee_charged * refunded_total + payment.amount_vnd // 2) // payment.amount_vnd
    booked = [
        _book(
            order.unit_id,
            f"refund:{refund.id}",
            EntryKind.REFUND,
            -refund.amount_vnd,
            order_id=order.id,
            refund_id=refund.id,
        ),
        _book(
            order.unit_id,
            f"fee_refund:{refund.id}",
            EntryKind.FEE_REFUND,
            fee_back_total - fee_back_before,
            order_id=order.id,
            refund_id=refund.id,
        ),
    ]
    db.session.flush()
    return [entry for entry in booked if entry is not None]


def balance(unit_id: int) -> int:
    """Return what the platform owes the cooperative now (the sum of its entries)."""
    return _sum(LedgerEntry.unit_id == unit_id)


def _refuse_changes(session: Session, flush_context, instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("ledger entries are append-only: book a correcting entry instead")


def guard_append_only() -> None:
    """Refuse, in the application, any update or delete of a ledger entry (PostgreSQL refuses it too)."""
    if not event.contains(Session, "before_flush", _refuse_changes):
        event.listen(Session, "before_flush", _refuse_changes)


# ---------------------------------------------------------------- statements
# Periods are calendar months in Vietnam time: what a cooperative's accountant closes.

ENTRY_KIND_LABELS = {
    EntryKind.SALE: _l("Collected for a sale"),
    EntryKind.FEE: _l("Platform fee"),
    EntryKind.REFUND: _l("Refund to the buyer"),
    EntryKind.FEE_REFUND: _l("Fee returned"),
    EntryKind.PAYOUT: _l("Paid out"),
}


@dataclass(frozen=True)
class Period:
    """A calendar month in Vietnam time, from `start` (first day) to `end` (first day of the next month)."""

    start: dt.date
    end: dt.date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """Return the month `year`-`month`."""
        start = dt.date(year, month, 1)
        end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
        return cls(start, end)

    @classmethod
    def containing(cls, day: dt.date) -> Period:
        """Return the month `day` falls in."""
        return cls.month(day.year, day.month)

    @property
    def start_utc(self) -> dt.datetime:
        return _vn_midnight(self.start)

    @property
    def end_utc(self) -> dt.datetime:
        return _vn_midnight(self.end)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def key(self) -> str:
        """The month as `YYYY-MM`, the value of an <input type="month">."""
        return f"{self.start:%Y-%m}"


def _vn_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=VN_TZ).astimezone(dt.UTC)


@dataclass(frozen=True)
class PeriodTotals:
    """What moved in a period, signed as booked (+ owed to the cooperative), between two balances."""

    opening: int
    collected: int
    fees: int
    refunds: int
    fee_returned: int
    paid_out: int
    closing: int


def balance_at(unit_id: int, moment: dt.datetime) -> int:
    """Return the cooperative's balance just before `moment` (UTC)."""
    return _sum(LedgerEntry.unit_id == unit_id, LedgerEntry.created_at < moment)


def period_totals(unit_id: int, period: Period) -> PeriodTotals:
    """Return the opening and closing balance of a period and what moved in it, by kind."""
    rows = db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_vnd))
        .where(
            LedgerEntry.unit_id == unit_id,
            LedgerEntry.created_at >= period.start_utc,
            LedgerEntry.created_at < period.end_utc,
        )
        .group_by(LedgerEntry.kind)
    ).all()
    by_kind = {EntryKind(kind): int(total or 0) for kind, total in rows}
    opening = balance_at(unit_id, period.start_utc)
    return PeriodTotals(
        opening=opening,
        collected=by_kind.get(EntryKind.SALE, 0),
        fees=by_kind.get(EntryKind.FEE, 0),
        refunds=by_kind.get(EntryKind.REFUND, 0),
        fee_returned=by_kind.get(EntryKind.FEE_REFUND, 0),
        paid_out=by_kind.get(EntryKind.PAYOUT, 0),
        closing=opening + sum(by_kind.values()),
    )


def statement_query(unit_id: int, period: Period) -> Select:
    """Select the unit's entries in the period, oldest first (the order a running balance is read in)."""
    return (
        select(LedgerEntry)
        .where(
            LedgerEntry.unit_id == unit_id,
            LedgerEntry.created_at >= period.start_utc,
            LedgerEntry.created_at < period.end_utc,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )


@dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    balance_after: int
    order_number: str | None
    bank_reference: str | None


def statement_lines(entries: Sequence[LedgerEntry]) -> list[StatementLine]:
    """Return consecutive entries of one unit with the balance after each, their order number and payout reference."""
    if not entries:
        return []
    first = entries[0]
    # Everything booked before the first line: earlier pages and earlier periods alike.
    running = _sum(
        LedgerEntry.unit_id == first.unit_id,
        or_(
            LedgerEntry.created_at < first.created_at,
            and_(LedgerEntry.created_at == first.created_at, LedgerEntry.id < first.id),
        ),
    )
    order_ids = {e.order_id for e in entries if e.order_id is not None}
    numbers = (
        dict(db.session.execute(select(Order.id, Purchase.number).join(Purchase).where(Order.id.in_(order_ids))).all())
        if order_ids
        else {}
    )
    payout_ids = {e.payout_id for e in entries if e.payout_id is not None}
    references = (
        dict(db.session.execute(select(Payout.id, Payout.bank_reference).where(Payout.id.in_(payout_ids))).all())
        if payout_ids
        else {}
    )
    lines = []
    for entry in entries:
        running += entry.amount_vnd
        lines.append(
            StatementLine(
                entry=entry,
                balance_after=running,
                order_number=numbers.get(entry.order_id),
                bank_reference=references.get(entry.payout_id),
            )
        )
    return lines


def statement_xlsx(unit_id: int, period: Period) -> bytes:
    """Write the period's statement as XLSX: opening balance, every entry with the balance after it, closing."""
    totals = period_totals(unit_id, period)
    entries = db.session.scalars(statement_query(unit_id, period)).all()
    rows: list[tuple] = [(period.start, _("Opening balance"), "", "", None, totals.opening)]
    for line in statement_lines(entries):
        rows.append(
            (
                local_time(line.entry.created_at).replace(tzinfo=None),
                str(ENTRY_KIND_LABELS[line.entry.kind]),
                line.order_number or "",
                line.bank_reference or "",
                line.entry.amount_vnd,
                line.balance_after,
            )
        )
    rows.append((period.last_day, _("Closing balance"), "", "", None, totals.closing))
    header = [_("Date"), _("Kind"), _("Order number"), _("Bank reference"), _("Amount (VND)"), _("Balance after (VND)")]
    return write_xlsx({_("Statement %(month)s", month=f"{period.start:%m-%Y}"): (header, rows)})
