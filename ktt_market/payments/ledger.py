"""Each cooperative's account with the platform: what was collected for it, fees, refunds, payouts.

Entries are only ever added, each under a key naming its cause, so booking the same cause twice
adds nothing; a balance is the sum of the unit's entries. Only money the platform collected (card
payments, transfers to the platform's account) enters the ledger: cash on delivery and transfers
to the cooperative's own account never pass through the platform.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..extensions import db
from .models import Collector, EntryKind, LedgerEntry, Payment, Refund


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


def book_refund(refund: Refund) -> list[LedgerEntry]:
    """Debit a confirmed refund, and give back the fee's share of it.

    The fee returned is computed on the running total refunded, so refunds that add up to the whole
    payment return exactly the whole fee, whatever the rounding of each part.
    """
    payment = refund.payment
    if payment.collector is not Collector.PLATFORM:
        return []
    order = payment.order
    fee_charged = -(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(LedgerEntry.key == f"fee:order:{order.id}")
        )
        or 0
    )
    refunded_before = (
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(
                LedgerEntry.order_id == order.id,
                LedgerEntry.kind == EntryKind.REFUND,
                LedgerEntry.refund_id != refund.id,
            )
        )
        or 0
    )
    fee_back_before = (
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(
                LedgerEntry.order_id == order.id,
                LedgerEntry.kind == EntryKind.FEE_REFUND,
                LedgerEntry.refund_id != refund.id,
            )
        )
        or 0
    )
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
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(LedgerEntry.unit_id == unit_id)
        )
        or 0
    )


def _refuse_changes(session: Session, flush_context, instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("ledger entries are append-only: book a correcting entry instead")


def guard_append_only() -> None:
    """Refuse, in the application, any update or delete of a ledger entry (PostgreSQL refuses it too)."""
    if not event.contains(Session, "before_flush", _refuse_changes):
        event.listen(Session, "before_flush", _refuse_changes)
