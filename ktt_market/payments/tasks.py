"""Background work of the payments area: card refunds sent to Stripe, Stripe pages closed."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from ..core.models import utcnow
from ..extensions import db
from ..orders.models import PaymentMethod
from . import services, stripe_gateway
from .models import Payment, Refund, RefundStatus

log = logging.getLogger(__name__)

# A refund younger than this is left to the task queued by its own commit.
RETRY_AFTER = dt.timedelta(minutes=2)


def send_refund(refund_id: int) -> str:
    """Ask Stripe to refund one pending card refund (idempotency key f"refund-{id}"); return what happened.

    The same key on every attempt: a retry after a lost answer gets Stripe's first refund back,
    never a second one. Stripe's answer may already settle it; otherwise the webhook will.
    """
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status is not RefundStatus.PENDING or refund.provider_ref:
        return "nothing to do"
    payment = refund.payment
    if payment.method is not PaymentMethod.CARD:
        return "not a card payment"
    if not payment.provider_ref:
        log.error("refund %s: card payment %s has no PaymentIntent id", refund.id, payment.id)
        return "no payment intent"
    try:
        answer = stripe_gateway.create_refund(
            payment_intent=payment.provider_ref,
            amount_vnd=refund.amount_vnd,
            metadata={"refund_id": str(refund.id), "order_id": str(refund.order_id)},
            idempotency_key=f"refund-{refund.id}",
        )
    except stripe_gateway.GatewayUnavailable as exc:
        db.session.rollback()
        log.warning("refund %s: Stripe unreachable, retried later: %s", refund_id, exc.message)
        return "retry later"
    except stripe_gateway.GatewayError as exc:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            services.refund_failed(refund, reason=exc.message)
        db.session.commit()
        return "refused"
    # Lock it now: the webhook may have recorded the same refund while Stripe answered.
    db.session.refresh(refund, with_for_update=True)
    if not refund.provider_ref:
        refund.provider_ref = answer["id"]
    status = answer.get("status")
    if status == "succeeded":
        services.refund_succeeded(refund, provider_ref=answer["id"])
    elif status in {"failed", "canceled"}:
        services.refund_failed(refund, reason=str(answer.get("failure_reason") or status))
    db.session.commit()
    return str(status)


@shared_task(name="payments.refund")
def refund(refund_id: int) -> str:
    """Send one card refund to Stripe."""
    return send_refund(refund_id)


@shared_task(name="payments.retry_refunds")
def retry_refunds() -> int:
    """Send the card refunds that never reached Stripe (the broker was away, Stripe was down)."""
    ids = db.session.scalars(
        select(Refund.id)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Refund.status == RefundStatus.PENDING,
            Refund.provider_ref.is_(None),
            Payment.method == PaymentMethod.CARD,
            Refund.created_at <= utcnow() - RETRY_AFTER,
        )
        .order_by(Refund.id)
    ).all()
    db.session.rollback()  # end the read: each refund gets its own transaction
    sent = 0
    for refund_id in ids:
        if send_refund(refund_id) not in {"retry later", "nothing to do"}:
            sent += 1
    return sent


@shared_task(name="payments.expire_checkout")
def expire_checkout(session_id: str) -> str:
    """Close a Stripe page nobody should pay any more (best effort: the webhook handles a late payment)."""
    try:
        stripe_gateway.expire_checkout_session(session_id)
    except stripe_gateway.GatewayError as exc:
        log.info("Stripe session %s not expired: %s", session_id, exc.message)
        return "not expired"
    return "expired"
