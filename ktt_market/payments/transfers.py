"""Bank transfers by VietQR: where each order's money goes, its reference, and recording it as received.

A transfer goes to the cooperative's own account when it has one (the cooperative collects), else to
the platform's account (the platform collects and credits the cooperative's ledger). The buyer types
the order's unique reference in the transfer's content; whoever watches the receiving account then
records the transfer by that reference, and the order goes ahead.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, false, or_, select

from ..accounts.models import Role, User
from ..audit import services as audit
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import vnd
from ..core.text import nfc
from ..extensions import db
from ..orders.models import Order, PaymentMethod, Purchase
from ..registry.access import officer_covers, staff_role
from ..registry.models import StaffRole, Unit, UnitStaff
from . import vietqr
from .models import Collector, Payment, PaymentStatus, Refund, RefundStatus
from .services import payment_succeeded, refund_succeeded, refundable_vnd, request_refund

REFERENCE_PREFIX = "KTT"
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_ACCOUNT = re.compile(r"[A-Z0-9]{1,19}")
_HOLDER = re.compile(r"[A-Z0-9 .,&()/-]{2,50}")

BankDetails = dict[str, str]


def platform_account(config: Mapping[str, Any]) -> BankDetails | None:
    """Return the platform's receiving account from the settings, or None when not configured."""
    bank_bin = (config.get("PLATFORM_BANK_BIN") or "").strip()
    account = (config.get("PLATFORM_BANK_ACCOUNT") or "").strip()
    name = (config.get("PLATFORM_BANK_NAME") or "").strip()
    if not (bank_bin and account and name):
        return None
    return {"bank_bin": bank_bin, "bank_account": account, "bank_account_name": name}


def unit_account(unit: Unit) -> BankDetails | None:
    """Return the cooperative's own receiving account, or None when it has not set one."""
    if not (unit.bank_bin and unit.bank_account):
        return None
    return {"bank_bin": unit.bank_bin, "bank_account": unit.bank_account, "bank_account_name": unit.bank_account_name}


def any_unit_has_account() -> bool:
    """Whether some cooperative can receive transfers on its own account."""
    return bool(db.session.scalar(select(exists().where(Unit.bank_bin.is_not(None), Unit.bank_account.is_not(None)))))


def receiving_account(order: Order, config: Mapping[str, Any]) -> tuple[Collector, BankDetails] | None:
    """Return who collects the order's transfer and into which account; None when nobody can."""
    own = unit_account(order.unit)
    if own is not None:
        return Collector.COOPERATIVE, own
    platform = platform_account(config)
    if platform is not None:
        return Collector.PLATFORM, platform
    return None


def normalize_reference(text: str | None) -> str:
    """Return a reference as banks pass it on: capitals and digits only (spaces, dashes, accents dropped)."""
    folded = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn").upper()
    return _NOT_ALNUM.sub("", plain)


def _reference_taken(reference: str, taken: set[str]) -> bool:
    if reference in taken:
        return True
    return db.session.scalar(select(Payment.id).where(Payment.reference == reference)) is not None


def new_reference(purchase: Purchase, position: int, *, taken: set[str] | None = None) -> str:
    """Return a reference nobody has yet for the `position`-th order of `purchase`, e.g. KTT7QX4M2HP1."""
    taken = taken if taken is not None else set()
    # Purchase numbers have a fixed length, so number + position never collides with another purchase's.
    reference = vietqr.make_reference(REFERENCE_PREFIX, f"{purchase.number}{position}")
    while _reference_taken(reference, taken):
        # Only if numbering ever changes: a random tail keeps the reference unique rather than failing.
        tail = "".join(secrets.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(6))
        reference = vietqr.make_reference(REFERENCE_PREFIX, f"{purchase.number}{tail}")
    taken.add(reference)
    return reference


def transfer_payload(payment: Payment) -> str | None:
    """Return the VietQR string of a pending transfer, or None when there is nothing to pay."""
    if payment.method is not PaymentMethod.BANK_TRANSFER or not (payment.bank_bin and payment.bank_account):
        return None
    return vietqr.build_payload(
        bin=payment.bank_bin,
        account=payment.bank_account,
        amount=payment.amount_vnd,
        reference=payment.reference or "",
        merchant_name=payment.bank_account_name or None,
    )


# ---------------------------------------------------------------- recording a transfer


def can_record(actor: User, payment: Payment) -> bool:
    """Whether `actor` watches the account this transfer goes to (and so may record it)."""
    unit = payment.order.unit
    officer = actor.role is Role.OFFICER and officer_covers(actor, unit)
    if payment.collector is Collector.COOPERATIVE:
        return officer or staff_role(actor, unit.id) is not None
    return officer or actor.role is Role.ADMIN


def _watched_by(actor: User):
    """The condition on Payment/Order/Unit rows of the accounts `actor` watches (as `can_record`)."""
    staff_units = select(UnitStaff.unit_id).where(UnitStaff.user_id == actor.id)
    if actor.role is Role.ADMIN:
        allowed = Payment.collector == Collector.PLATFORM
    elif actor.role is Role.OFFICER:
        allowed = Unit.province_code == actor.province_code
    else:
        allowed = false()
    return or_(allowed, and_(Payment.collector == Collector.COOPERATIVE, Order.unit_id.in_(staff_units)))


def recordable_transfers(actor: User) -> Select:
    """Return the query of pending transfers `actor` may record, oldest deadline first."""
    return (
        select(Payment)
        .join(Order, Order.id == Payment.order_id)
        .join(Unit, Unit.id == Order.unit_id)
        .where(
            Payment.method == PaymentMethod.BANK_TRANSFER,
            Payment.status == PaymentStatus.PENDING,
            _watched_by(actor),
        )
        .order_by(Order.expires_at, Payment.id)
    )


def may_record_any(actor: User) -> bool:
    """Whether `actor` could ever record a transfer (admin, officer, or staff of some unit)."""
    if actor.role in {Role.ADMIN, Role.OFFICER}:
        return True
    return db.session.scalar(select(UnitStaff.unit_id).where(UnitStaff.user_id == actor.id).limit(1)) is not None


def record_transfer(
    reference: str, amount_vnd: int | None, *, actor: User, now: dt.datetime | None = None
) -> tuple[Payment, bool]:
    """Record the transfer with this reference as received; return (payment, False) if it already was.

    Refuses (ServiceError, nothing changed) an unknown reference or one `actor` does not watch, an
    amount other than the one owed, and a transfer for an order that lapsed or was cancelled meanwhile.
    """
    wanted = normalize_reference(reference)
    payment = None
    if wanted:
        payment = db.session.scalar(
            select(Payment).where(Payment.reference == wanted, Payment.method == PaymentMethod.BANK_TRANSFER)
        )
    if payment is None or not can_record(actor, payment):
        # The same words for "no such reference" and "not yours": references of others stay hidden.
        raise ServiceError(_("There is no pending transfer with this reference."), field="reference")
    # Lock it (the order first, as the expiry task does): that task may be cancelling this very order now.
    db.session.refresh(payment.order, with_for_update=True)
    db.session.refresh(payment, with_for_update=True)
    if payment.status is PaymentStatus.SUCCEEDED:
        return payment, False
    if payment.status is not PaymentStatus.PENDING:
        raise ServiceError(
            _(
                "Order %(number)s was cancelled before this transfer was recorded (its stock is back on sale). "
                "Refund the transfer to the buyer from the receiving bank account, outside the platform.",
                number=payment.purchase.number,
            ),
            field="reference",
        )
    if amount_vnd is None or amount_vnd <= 0:
        raise ServiceError(_("Enter the amount received, in đồng."), field="amount_vnd")
    if amount_vnd != payment.amount_vnd:
        raise ServiceError(
            _(
                "The amount owed is %(owed)s, not %(received)s. Record only a transfer of exactly the amount owed; "
                "settle any difference with the buyer outside the platform.",
                owed=vnd(payment.amount_vnd),
                received=vnd(amount_vnd),
            ),
            field="amount_vnd",
        )
    done = payment_succeeded(payment, actor=actor, now=now)
    if done and audit.is_official(actor):
        audit.record(
            "payments.transfer.record",
            actor=actor,
            obj=payment,
            province_code=payment.order.unit.province_code,
            summary=f"Recorded the bank transfer {payment.reference} for order {payment.purchase.number}",
            before={"status": PaymentStatus.PENDING},
            after={"status": payment.status, "amount_vnd": amount_vnd},
        )
    return payment, done


# ---------------------------------------------------------------- sending a transfer back


def refund_paid_transfer(payment: Payment, *, actor: User | None) -> Refund | None:
    """Owe the buyer their transfer back when its order is cancelled after the money arrived."""
    if payment.status is not PaymentStatus.SUCCEEDED or refundable_vnd(payment) <= 0:
        return None
    return request_refund(
        payment, None, actor=actor, reason=_("The order was cancelled after the transfer was received.")
    )


def refunds_to_send(actor: User) -> Select:
    """Return the query of transfers `actor` must send back to buyers (from the accounts they watch)."""
    return (
        select(Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Payment.order_id)
        .join(Unit, Unit.id == Order.unit_id)
        .where(
            Payment.method == PaymentMethod.BANK_TRANSFER,
            Refund.status == RefundStatus.PENDING,
            _watched_by(actor),
        )
        .order_by(Refund.id)
    )


def record_refund_sent(refund_id: int | None, bank_reference: str | None, *, actor: User) -> Refund:
    """Record that the money of a transfer refund went back to the buyer, with the bank's reference."""
    refund = db.session.get(Refund, refund_id) if refund_id else None
    payment = refund.payment if refund is not None else None
    if (
        refund is None
        or payment.method is not PaymentMethod.BANK_TRANSFER
        or refund.status is not RefundStatus.PENDING
        or not can_record(actor, payment)
    ):
        raise ServiceError(_("This refund is no longer waiting to be sent."))
    reference = nfc(bank_reference)
    if not reference:
        raise ServiceError(_("Enter the bank's reference of the transfer back to the buyer."), field="bank_reference")
    if len(reference) > 100:
        raise ServiceError(_("At most %(n)d characters.", n=100), field="bank_reference")
    # The refund's id keeps the stored reference unique even when one bank batch paid several back.
    before = {"status": refund.status}
    refund_succeeded(refund, provider_ref=f"bank:{refund.id}:{reference}")
    if audit.is_official(actor):
        audit.record(
            "payments.refund.sent",
            actor=actor,
            obj=refund,
            province_code=payment.order.unit.province_code,
            summary=f"Recorded a transfer sent back to the buyer of order {payment.purchase.number}",
            before=before,
            after={"status": refund.status, "amount_vnd": refund.amount_vnd, "bank_reference": reference},
        )
    return refund


# ---------------------------------------------------------------- a cooperative's own account


def fold_holder(text: str | None) -> str:
    """Return an account holder's name as banks keep it: capitals without accents, single spaces."""
    folded = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn").upper()
    return " ".join(plain.split())


def set_bank_account(unit: Unit, *, actor: User, bank_bin: str | None, account: str | None, holder: str | None) -> Unit:
    """Set (or, with all three empty, remove) the cooperative's receiving account, as its owner."""
    if staff_role(actor, unit.id) is not StaffRole.OWNER:
        raise PermissionDenied(_("Only the cooperative's owner may change its bank account."))
    bank_bin = (bank_bin or "").strip()
    # A field missing from the POST arrives as None, not "".
    account = re.sub(r"[\s.-]", "", nfc(account or "")).upper()
    holder = fold_holder(holder or "")
    if not (bank_bin or account or holder):
        unit.bank_bin = unit.bank_account = unit.bank_account_name = None
        db.session.flush()
        return unit
    if bank_bin not in vietqr.BANKS_BY_BIN:
        raise ServiceError(_("Choose the bank from the list."), field="bank_bin")
    if not _ACCOUNT.fullmatch(account):
        raise ServiceError(_("Enter the account number: 1 to 19 letters or digits."), field="account")
    if not _HOLDER.fullmatch(holder) or not any(ch.isalpha() for ch in holder):
        raise ServiceError(
            _("Enter the account holder's name as the bank shows it, for example HTX BUOI DOAN HUNG."),
            field="holder",
        )
    unit.bank_bin, unit.bank_account, unit.bank_account_name = bank_bin, account, holder
    db.session.flush()
    return unit
