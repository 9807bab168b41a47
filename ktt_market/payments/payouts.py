"""Payout runs: an admin pays cooperatives what the platform owes them and records the bank's references.

A run is one PayoutBatch with one Payout and one PAYOUT ledger entry per cooperative, all in the
caller's transaction. The cooperatives' rows are locked in id order before their balances are read,
so two runs paying the same cooperative at once cannot pay out more than it is owed; the form's
one-time key makes a double submit record the run once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from ..accounts.models import User
from ..audit import services as audit
from ..core.errors import ServiceError
from ..core.i18n import local_time, vnd
from ..core.models import utcnow
from ..core.spreadsheets import write_xlsx
from ..core.text import nfc
from ..extensions import db
from ..registry.models import Unit
from . import ledger
from .models import EntryKind, LedgerEntry, Payout, PayoutBatch
from .vietqr import BANKS_BY_BIN

RUN_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_run_key() -> str:
    """Return a fresh one-time key for a payout run form."""
    return secrets.token_urlsafe(32)


def has_bank_account(unit: Unit) -> bool:
    """Whether the unit gave a complete bank account to be paid into."""
    return bool(unit.bank_bin and unit.bank_account and unit.bank_account_name)


def bank_label(bin_: str | None) -> str:
    """Return the bank's short name for a VietQR BIN (the BIN itself when unknown)."""
    bank = BANKS_BY_BIN.get(bin_ or "")
    return bank.short_name if bank else (bin_ or "")


@dataclass(frozen=True)
class Payable:
    """A unit the platform owes money to, with what it is owed now."""

    unit: Unit
    balance_vnd: int

    @property
    def has_account(self) -> bool:
        return has_bank_account(self.unit)


def payable_units() -> list[Payable]:
    """Return every unit with a positive balance, by name."""
    owed = func.sum(LedgerEntry.amount_vnd)
    rows = db.session.execute(
        select(Unit, owed)
        .join(LedgerEntry, LedgerEntry.unit_id == Unit.id)
        .group_by(Unit.id)
        .having(owed > 0)
        .order_by(Unit.name, Unit.id)
    ).all()
    return [Payable(unit, int(total)) for unit, total in rows]


def batch_by_key(key: str | None) -> PayoutBatch | None:
    """Return the batch a payout form with this one-time key already recorded, if any."""
    if not key:
        return None
    return db.session.scalar(select(PayoutBatch).where(PayoutBatch.idempotency_key == key))


@dataclass(frozen=True)
class PayoutLine:
    """One cooperative to pay in a run: how much, and the bank's reference of the transfer."""

    unit_id: int
    amount_vnd: int
    bank_reference: str


class PayoutRefused(ServiceError):
    """A line of a payout run cannot be paid; `unit_id` says which, `field` which of its fields."""

    def __init__(self, message: str, *, unit_id: int | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.unit_id = unit_id


def record_payouts(
    lines: Sequence[PayoutLine],
    *,
    actor: User,
    key: str,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[PayoutBatch, bool]:
    """Record a payout run: one batch, a payout and a PAYOUT ledger entry per cooperative.

    Return (batch, created): the same `key` twice returns the first batch and False.
    """
    done = batch_by_key(key)
    if done is not None:
        return done, False
    if not key or not RUN_KEY.match(key):
        raise PayoutRefused(_("This payout form has expired. Reload the page and try again."))
    if not lines:
        raise PayoutRefused(_("Choose at least one cooperative to pay."))
    seen: set[int] = set()
    for line in lines:
        if line.unit_id in seen:
            raise PayoutRefused(_("A cooperative can be paid only once in a run."), unit_id=line.unit_id)
        seen.add(line.unit_id)
        if not isinstance(line.amount_vnd, int) or line.amount_vnd <= 0:
            raise PayoutRefused(_("Enter an amount above 0 đồng."), unit_id=line.unit_id, field="amount_vnd")
        reference = nfc(line.bank_reference or "").strip()
        if not reference:
            raise PayoutRefused(
                _("Enter the bank's reference for this transfer."), unit_id=line.unit_id, field="bank_reference"
            )
        if len(reference) > 100:
            raise PayoutRefused(
                _("The bank reference is at most 100 characters."), unit_id=line.unit_id, field="bank_reference"
            )

    # Id order: two runs paying overlapping cooperatives lock them in the same order and cannot deadlock.
    units = {
        unit.id: unit
        for unit in db.session.scalars(select(Unit).where(Unit.id.in_(seen)).order_by(Unit.id).with_for_update(of=Unit))
    }
    # A twin submit of the same form may have committed while this one waited for the locks.
    done = batch_by_key(key)
    if done is not None:
        return done, False
    for line in lines:
        unit = units.get(line.unit_id)
        if unit is None:
            raise PayoutRefused(_("This cooperative no longer exists."), unit_id=line.unit_id)
        if not has_bank_account(unit):
            raise PayoutRefused(
                _("%(unit)s has no bank account to pay into.", unit=unit.name), unit_id=unit.id, field="amount_vnd"
            )
        owed = ledger.balance(unit.id)
        if line.amount_vnd > owed:
            message = (
                _("At most %(amount)s is owed to this cooperative now.", amount=vnd(owed))
                if owed > 0
                else _("Nothing is owed to this cooperative now.")
            )
            raise PayoutRefused(message, unit_id=unit.id, field="amount_vnd")

    now = now or utcnow()
    batch = PayoutBatch(
        idempotency_key=key, created_by_id=actor.id, note=nfc(note or "").strip() or None, created_at=now
    )
    db.session.add(batch)
    db.session.flush()
    for line in lines:
        payout = Payout(
            batch_id=batch.id,
            unit_id=line.unit_id,
            amount_vnd=line.amount_vnd,
            bank_reference=nfc(line.bank_reference).strip(),
            bank_bin=units[line.unit_id].bank_bin,
            bank_account=units[line.unit_id].bank_account,
            bank_account_name=units[line.unit_id].bank_account_name,
            created_at=now,
        )
        db.session.add(payout)
        db.session.flush()
        db.session.add(
            LedgerEntry(
                unit_id=line.unit_id,
                key=f"payout:{payout.id}",
                kind=EntryKind.PAYOUT,
                amount_vnd=-line.amount_vnd,
                payout_id=payout.id,
                memo=None,
                created_at=now,
            )
        )
        # Officers see the payouts to their province's cooperatives; the run itself is the admins'.
        audit.record(
            "payments.payout.record",
            actor=actor,
            obj=payout,
            province_code=units[line.unit_id].province_code,
            summary=f"Paid {units[line.unit_id].name} in payout run {batch.id}",
            after={"amount_vnd": payout.amount_vnd, "bank_reference": payout.bank_reference, "batch_id": batch.id},
        )
    db.session.flush()
    audit.record(
        "payments.payout_run.record",
        actor=actor,
        obj=batch,
        summary=f"Recorded payout run {batch.id}: {len(lines)} cooperative(s)",
        after={"units": len(lines), "total_vnd": sum(line.amount_vnd for line in lines), "note": batch.note},
    )
    return batch, True


def batches_query() -> Select:
    """Select every payout batch, newest first."""
    return select(PayoutBatch).order_by(PayoutBatch.created_at.desc(), PayoutBatch.id.desc())


def creator_names(batches: Sequence[PayoutBatch]) -> dict[int, str]:
    """Return the full names of the admins who recorded these batches, by user id."""
    ids = {batch.created_by_id for batch in batches if batch.created_by_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


def batch_total(batch: PayoutBatch) -> int:
    """Return what a batch paid out in all."""
    return sum(payout.amount_vnd for payout in batch.payouts)


def batch_xlsx(batch: PayoutBatch) -> bytes:
    """Write a batch for the bank: one row per payout with the account it goes to, amount and reference."""
    header = [
        _("Cooperative"),
        _("Registration code"),
        _("Bank"),
        _("Bank BIN"),
        _("Account number"),
        _("Account name"),
        _("Amount (VND)"),
        _("Bank reference"),
    ]
    rows = [
        (
            payout.unit.name,
            payout.unit.registration_code,
            bank_label(payout.bank_bin),
            payout.bank_bin or "",
            payout.bank_account or "",
            payout.bank_account_name or "",
            payout.amount_vnd,
            payout.bank_reference,
        )
        for payout in batch.payouts
    ]
    title = _("Payouts %(date)s", date=f"{local_time(batch.created_at):%d-%m-%Y}")
    return write_xlsx({title: (header, rows)})
