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


# Open pages quieter than this are asked about: a webhook normally arrives within seconds.
SYNC_AFTER = dt.timedelta(minutes=5)


def sync_open_checkouts(now: dt.datetime | None = None) -> int:
    """Ask Stripe about open Checkout Sessions whose webhook never came; record what it says.

    A missed `checkout.session.completed` (the endpoint was down) must not let a paid order lapse;
    the late webhook then changes nothing, as the states only move forward.
    """
    from . import webhooks  # the same handlers as the webhook's
    from .models import CardCheckout, CheckoutStatus

    now = now or utcnow()
    ids = db.session.scalars(
        select(CardCheckout.session_id)
        .where(
            CardCheckout.status == CheckoutStatus.OPEN,
            CardCheckout.session_id.is_not(None),
            CardCheckout.updated_at <= now - SYNC_AFTER,
        )
        .order_by(CardCheckout.id)
    ).all()
    db.session.rollback()
    settled = 0
    for session_id in ids:
        try:
            session = stripe_gateway.retrieve_checkout_session(session_id)
        except stripe_gateway.GatewayError as exc:
            log.info("Stripe session %s not checked: %s", session_id, exc.message)
            if isinstance(exc, stripe_gateway.GatewayUnavailable):
                break  # Stripe is away: the next run tries again
            continue
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            if session.get("payment_status") in {"paid", "no_payment_required"} or session.get("status") == "complete":
                outcome = webhooks.on_session_completed(session)
            elif session.get("status") == "expired":
                outcome = webhooks.on_session_expired(session)
            else:
                db.session.rollback()
                continue
        db.session.commit()
        log.info("Stripe session %s synced: %s", session_id, outcome)
        settled += 1
    return settled


@shared_task(name="payments.sync_checkouts")
def sync_checkouts() -> int:
    """Catch up with Checkout Sessions paid or expired whose webhook did not arrive."""
    return sync_open_checkouts()
