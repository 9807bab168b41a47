"""The life of a payment and its refunds, whatever the method: the one place money changes state.

States only move forward: pending → succeeded | failed | expired | cancelled, and a refund pending →
succeeded | failed. Every verb locks its row, says what it did (False: nothing to do, it was done
already), flushes and never commits; a webhook delivered five times or a transfer recorded twice
changes things once.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..accounts.models import User
from ..core.errors import ServiceError
from ..core.i18n import vnd
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from ..notifications import events as notification_events
from ..orders.models import Order, OrderStatus, Purchase
from ..orders.states import transition
from . import ledger
from .models import Collector, Payment, PaymentStatus, Refund, RefundStatus

P = PaymentStatus


def payments_of(purchase: Purchase) -> list[Payment]:
    """Return the purchase's payments, one per cooperative order, in order."""
    return list(db.session.scalars(select(Payment).where(Payment.purchase_id == purchase.id).order_by(Payment.id)))


def payment_of(order: Order) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_id == order.id))


def open_payments(purchase: Purchase, *, collector_for) -> list[Payment]:
    """Create the pending payment of each order of a purchase just placed.

    `collector_for(order)` returns (Collector, bank details dict or None) for the method's needs.
    """
    created = []
    for order in purchase.orders:
        collector, bank = collector_for(order)
        payment = Payment(
            order_id=order.id,
            purchase_id=purchase.id,
            method=purchase.payment_method,
            collector=collector,
            amount_vnd=order.subtotal_vnd,
            status=P.PENDING,
            **(bank or {}),
        )
        db.session.add(payment)
        created.append(payment)
    db.session.flush()
    return created


def _lock(payment: Payment) -> Payment:
    db.session.refresh(payment, with_for_update=True)
    return payment


def payment_succeeded(
    payment: Payment, *, actor: User | None, provider_ref: str | None = None, now: dt.datetime | None = None
) -> bool:
    """Record the money as received; the order goes ahead and the cooperative is credited.

    Money that arrives for an order cancelled meanwhile (a card paid at the last second) is still
    recorded, and the caller refunds it: see `refund_unwanted`.
    """
    now = now or utcnow()
    # The order before the payment, as an order's expiry (transition, then payment_closed) locks them:
    # locking in the opposite order deadlocks with it.
    db.session.refresh(payment.order, with_for_update=True)
    _lock(payment)
    if payment.status is P.SUCCEEDED:
        return False
    payment.status = P.SUCCEEDED
    payment.paid_at = now
    payment.failure_reason = None
    if provider_ref:
        payment.provider_ref = provider_ref
    if actor is not None:
        payment.recorded_by_id = actor.id
    db.session.flush()
    order = payment.order
    if order.status is OrderStatus.PENDING_PAYMENT:
        transition(order, OrderStatus.PLACED, actor=None, now=now)
    ledger.book_sale(payment)
    notification_events.payment_received(payment)
    return True


def payment_failed(payment: Payment, *, reason: str, final: bool) -> bool:
    """Record a failed attempt; a final failure ends the payment (the order lapses with it)."""
    _lock(payment)
    if payment.status is not P.PENDING:
        return False  # a late failure after success or expiry changes nothing
    payment.failure_reason = (nfc(reason) or "")[:300] or None
    if final:
        payment.status = P.FAILED
    db.session.flush()
    notification_events.payment_failed(payment)
    return True


def payment_closed(payment: Payment, *, expired: bool) -> bool:
    """Stop waiting for a payment whose order lapsed (expired) or was cancelled before paying."""
    _lock(payment)
    if payment.status is not P.PENDING:
        return False
    payment.status = P.EXPIRED if expired else P.CANCELLED
    db.session.flush()
    return True


# ---------------------------------------------------------------- refunds


def refundable_vnd(payment: Payment) -> int:
    """Return how much of a payment can still be refunded (pending refunds count as taken)."""
    if payment.status is not P.SUCCEEDED:
        return 0
    taken = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_vnd), 0)).where(
            Refund.payment_id == payment.id, Refund.status != RefundStatus.FAILED
        )
    )
    return payment.amount_vnd - int(taken or 0)


def refunded_vnd(payment: Payment) -> int:
    """Return how much of a payment the provider confirmed as refunded."""
    done = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_vnd), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.SUCCEEDED
        )
    )
    return int(done or 0)


def request_refund(payment: Payment, amount_vnd: int | None, *, actor: User | None, reason: str | None) -> Refund:
    """Ask for (part of) a paid order's money back; the provider confirms it later.

    `amount_vnd` None: everything still refundable. Authorisation is the caller's (the cancel rules,
    or an officer approving a return).
    """
    _lock(payment)
    left = refundable_vnd(payment)
    amount = left if amount_vnd is None else amount_vnd
    if payment.status is not P.SUCCEEDED:
        raise ServiceError(_("This order has not been paid: there is nothing to refund."))
    if not isinstance(amount, int) or amount <= 0:
        raise ServiceError(_("Enter an amount above 0 đồng."), field="amount_vnd")
    if amount > left:
        raise ServiceError(
            _("At most %(amount)s can still be refunded.", amount=vnd(left)),
            field="amount_vnd",
        )
    refund = Refund(
        payment_id=payment.id,
        order_id=payment.order_id,
        amount_vnd=amount,
        status=RefundStatus.PENDING,
        reason=nfc(reason) or None,
        requested_by_id=actor.id if actor else None,
    )
    db.session.add(refund)
    db.session.flush()
    return refund


def refund_succeeded(refund: Refund, *, provider_ref: str | None = None, now: dt.datetime | None = None) -> bool:
    """Record a refund the provider confirmed: debit the ledger; a whole refund makes the order refunded."""
    db.session.refresh(refund, with_for_update=True)
    if refund.status is RefundStatus.SUCCEEDED:
        return False
    refund.status = RefundStatus.SUCCEEDED
    refund.settled_at = now or utcnow()
    refund.failure_reason = None
    if provider_ref and not refund.provider_ref:
        refund.provider_ref = provider_ref
    db.session.flush()
    ledger.book_refund(refund)
    payment = refund.payment
    order = payment.order
    if refunded_vnd(payment) >= payment.amount_vnd and order.status in {
        OrderStatus.CANCELLED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    }:
        transition(order, OrderStatus.REFUNDED, actor=None, now=refund.settled_at)
    notification_events.refund_settled(refund)
    return True


def refund_failed(refund: Refund, *, reason: str) -> bool:
    """Record a refund the provider refused; the amount becomes refundable again."""
    db.session.refresh(refund, with_for_update=True)
    if refund.status is not RefundStatus.PENDING:
        return False
    refund.status = RefundStatus.FAILED
    refund.failure_reason = (nfc(reason) or "")[:300] or None
    db.session.flush()
    return True


def is_collected_by_platform(payment: Payment) -> bool:
    return payment.collector is Collector.PLATFORM


def refund_unwanted(payment: Payment) -> Refund | None:
    """Refund in full a payment that arrived for an order no longer wanted (cancelled or lapsed)."""
    if payment.status is not P.SUCCEEDED or payment.order.status is not OrderStatus.CANCELLED:
        return None
    if refundable_vnd(payment) <= 0:
        return None
    return request_refund(payment, None, actor=None, reason=_("Paid after the order was cancelled."))
