"""Stripe's webhook: the only way a card payment or a card refund is recorded.

The endpoint checks the Stripe-Signature over the raw body (300 s tolerance) and answers 400 to
anything unsigned, tampered or stale. Each event id is stored first, under its primary key, in the
same transaction as what the event does: a repeated delivery finds it and does nothing. Events can
arrive in any order; states only move forward (the services return False for what is done
already), and where an event says too little the Checkout Session is fetched again from Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.errors import ServiceError
from ..extensions import csrf, db
from ..orders.models import Order, OrderStatus, PaymentMethod, Purchase
from ..orders.states import transition
from . import services, stripe_gateway
from .models import CardCheckout, CheckoutStatus, Payment, Refund, StripeEvent

bp = Blueprint("payments_webhooks", __name__)
# Stripe signs its calls: a CSRF token has no meaning here.
csrf.exempt(bp)
log = logging.getLogger(__name__)


def _text(body: str, status: int):
    return body, status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/payments/stripe/webhook")
def stripe_webhook():
    payload = request.get_data()  # the raw bytes: the signature is over them, not over parsed JSON
    try:
        event = stripe_gateway.construct_event(payload, request.headers.get("Stripe-Signature"))
    except stripe_gateway.InvalidWebhook as exc:
        log.warning("refused a Stripe webhook: %s", exc)
        return _text("invalid signature", 400)
    event_id = event["id"]
    if db.session.get(StripeEvent, event_id) is not None:
        return _text("already processed", 200)
    obj = (event.get("data") or {}).get("object") or {}
    db.session.add(StripeEvent(id=event_id, type=event["type"][:100], object_id=_id(obj)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the same event, delivered twice at the same moment
        return _text("already processed", 200)
    try:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            outcome = handle_event(event)
        db.session.commit()
    except stripe_gateway.GatewayUnavailable:
        db.session.rollback()  # nothing recorded, the event id included: Stripe delivers it again
        log.warning("Stripe event %s: Stripe unreachable while handling it, asked for a retry", event_id)
        return _text("try again later", 503)
    except IntegrityError:
        db.session.rollback()
        if db.session.get(StripeEvent, event_id) is not None:
            return _text("already processed", 200)
        raise
    return _text(outcome, 200)


def handle_event(event: dict[str, Any]) -> str:
    """Do what one verified Stripe event means; return a short word on what happened (for logs)."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    obj = (event.get("data") or {}).get("object") or {}
    outcome = handler(obj)
    log.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return outcome


# ---------------------------------------------------------------- helpers


def _id(value: Any) -> str | None:
    """An id from a Stripe field that holds either the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _metadata(obj: dict[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _checkout_for(session_id: str | None) -> CardCheckout | None:
    if not session_id:
        return None
    return db.session.scalar(select(CardCheckout).where(CardCheckout.session_id == session_id))


def _purchase_for(obj: dict[str, Any], checkout: CardCheckout | None) -> Purchase | None:
    """The card purchase a session or PaymentIntent is about: by our row, its metadata, or its number."""
    purchase = None
    if checkout is not None:
        purchase = checkout.purchase
    elif (purchase_id := _int(_metadata(obj).get("purchase_id"))) is not None:
        purchase = db.session.get(Purchase, purchase_id)
    elif obj.get("client_reference_id"):
        purchase = db.session.scalar(select(Purchase).where(Purchase.number == obj["client_reference_id"]))
    if purchase is None or purchase.payment_method is not PaymentMethod.CARD:
        return None
    return purchase


def _payments_for(obj: dict[str, Any], purchase: Purchase) -> list[Payment]:
    """The payments a session covers: the orders named in its metadata, else the whole purchase."""
    payments = services.payments_of(purchase)
    raw = _metadata(obj).get("order_ids")
    if raw:
        wanted = {_int(part) for part in str(raw).split(",")}
        payments = [payment for payment in payments if payment.order_id in wanted]
    return payments


def _cancel_unpaid(payments: list[Payment], reason: str) -> int:
    """Cancel the orders still waiting for these payments (their stock goes back); return how many."""
    done = 0
    for payment in payments:
        order: Order = payment.order
        if order.status is not OrderStatus.PENDING_PAYMENT:
            continue
        try:
            transition(order, OrderStatus.CANCELLED, actor=None, reason=reason)
        except ServiceError:
            continue  # moved meanwhile: the lock showed its new status
        done += 1
    return done


def _refetch_if(condition: bool, session: dict[str, Any]) -> dict[str, Any]:
    """Return the session as Stripe has it now when the event's copy cannot be trusted to be current."""
    if not condition or not session.get("id"):
        return session
    return stripe_gateway.retrieve_checkout_session(session["id"])


# ---------------------------------------------------------------- Checkout Session events


def _record_paid(session: dict[str, Any], purchase: Purchase, checkout: CardCheckout | None) -> str:
    intent = _id(session.get("payment_intent"))
    if checkout is not None:
        checkout.status = CheckoutStatus.COMPLETE
        checkout.payment_intent_id = intent or checkout.payment_intent_id
    payments = _payments_for(session, purchase)
    expected = sum(payment.amount_vnd for payment in payments)
    if session.get("amount_total") is not None and session["amount_total"] != expected:
        log.error(
            "purchase %s: Stripe collected %s đồng for %s đồng of orders",
            purchase.number,
            session["amount_total"],
            expected,
        )
    recorded = 0
    for payment in payments:
        if services.payment_succeeded(payment, actor=None, provider_ref=intent):
            recorded += 1
            # Paid at the last second for an order cancelled meanwhile: the money goes back.
            services.refund_unwanted(payment)
        elif intent and payment.provider_ref and payment.provider_ref != intent:
            log.error("order %s paid twice: %s and %s", payment.order_id, payment.provider_ref, intent)
    db.session.flush()
    return f"paid {recorded}"


def _paid_session(session: dict[str, Any], *, async_event: bool) -> str:
    checkout = _checkout_for(session.get("id"))
    purchase = _purchase_for(session, checkout)
    if purchase is None:
        log.warning("Stripe session %s is not one of ours", session.get("id"))
        return "unknown session"
    # An asynchronous result before the completed event (or a completed one still unpaid) says
    # too little on its own: ask Stripe how the session stands now.
    stale = (async_event and (checkout is None or checkout.status is not CheckoutStatus.COMPLETE)) or (
        session.get("payment_status") == "unpaid"
    )
    session = _refetch_if(stale, session)
    if session.get("payment_status") in {"paid", "no_payment_required"}:
        return _record_paid(session, purchase, checkout)
    if checkout is not None and checkout.session_id == session.get("id"):
        checkout.status = CheckoutStatus.COMPLETE  # completed, the money follows (bank debit, transfer)
        checkout.payment_intent_id = _id(session.get("payment_intent")) or checkout.payment_intent_id
        db.session.flush()
    return "waiting for the asynchronous payment"


def on_session_completed(session: dict[str, Any]) -> str:
    return _paid_session(session, async_event=False)


def on_async_succeeded(session: dict[str, Any]) -> str:
    return _paid_session(session, async_event=True)


def on_async_failed(session: dict[str, Any]) -> str:
    checkout = _checkout_for(session.get("id"))
    purchase = _purchase_for(session, checkout)
    if purchase is None:
        return "unknown session"
    session = _refetch_if(True, session)
    if session.get("payment_status") == "paid":
        return _record_paid(session, purchase, checkout)  # a later success overtook this event
    failed = 0
    for payment in _payments_for(session, purchase):
        if services.payment_failed(payment, reason=_("The payment did not go through."), final=True):
            failed += 1
    cancelled = _cancel_unpaid(_payments_for(session, purchase), _("The payment did not go through."))
    return f"failed {failed}, cancelled {cancelled}"


def on_session_expired(session: dict[str, Any]) -> str:
    checkout = _checkout_for(session.get("id"))
    if checkout is None:
        return "unknown session" if _purchase_for(session, None) is None else "not the current session"
    if checkout.status is CheckoutStatus.COMPLETE:
        return "paid already"
    # Our own expiry (the order was cancelled) marked it already: only Stripe's deadline cancels orders.
    was_open = checkout.status is CheckoutStatus.OPEN
    checkout.status = CheckoutStatus.EXPIRED
    db.session.flush()
    if not was_open:
        return "closed already"
    cancelled = _cancel_unpaid(_payments_for(session, checkout.purchase), _("Not paid in time."))
    return f"cancelled {cancelled}"


def on_payment_failed(intent: dict[str, Any]) -> str:
    """A declined card: note the reason; the buyer may try another card on Stripe's page."""
    purchase = _purchase_for(intent, None)
    if purchase is None:
        return "unknown payment"
    error = intent.get("last_payment_error") or {}
    reason = (error.get("message") if isinstance(error, dict) else None) or _("The card payment was declined.")
    noted = sum(services.payment_failed(p, reason=reason, final=False) for p in _payments_for(intent, purchase))
    return f"noted {noted}"


# ---------------------------------------------------------------- refund events


def _refund_row(stripe_refund: dict[str, Any]) -> Refund | None:
    """Our refund for Stripe's: by its re_ id, else by the refund_id we put in its metadata."""
    provider_ref = stripe_refund.get("id")
    if provider_ref:
        found = db.session.scalar(select(Refund).where(Refund.provider_ref == provider_ref))
        if found is not None:
            return found
    refund_id = _int(_metadata(stripe_refund).get("refund_id"))
    if refund_id is None:
        return None
    found = db.session.get(Refund, refund_id)
    if found is None or (found.provider_ref and found.provider_ref != provider_ref):
        return None
    return found


def _apply_refund(stripe_refund: dict[str, Any]) -> str:
    refund = _refund_row(stripe_refund)
    if refund is None:
        log.warning("Stripe refund %s is not one of ours", stripe_refund.get("id"))
        return "unknown refund"
    provider_ref = stripe_refund.get("id")
    if provider_ref and not refund.provider_ref:
        refund.provider_ref = provider_ref  # the answer to our request may not have arrived yet
        db.session.flush()
    status = stripe_refund.get("status")
    if status == "succeeded":
        return "refunded" if services.refund_succeeded(refund, provider_ref=provider_ref) else "refunded already"
    if status in {"failed", "canceled"}:
        reason = stripe_refund.get("failure_reason") or status
        return "refund failed" if services.refund_failed(refund, reason=str(reason)) else "settled already"
    return "refund pending"


def on_refund(stripe_refund: dict[str, Any]) -> str:
    return _apply_refund(stripe_refund)


def on_charge_refunded(charge: dict[str, Any]) -> str:
    refunds = (charge.get("refunds") or {}).get("data") or []
    if not refunds:
        return "no refunds listed"  # newer API versions leave them out: refund.updated follows
    return ", ".join(_apply_refund(item) for item in refunds)


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_async_succeeded,
    "checkout.session.async_payment_failed": on_async_failed,
    "checkout.session.expired": on_session_expired,
    "payment_intent.payment_failed": on_payment_failed,
    "charge.refunded": on_charge_refunded,
    "charge.refund.updated": on_refund,
    "refund.created": on_refund,
    "refund.updated": on_refund,
    "refund.failed": on_refund,
}
