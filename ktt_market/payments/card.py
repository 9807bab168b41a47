"""Card payments through Stripe Checkout: the Card payment method, its checkout session and refunds.

The buyer pays on Stripe's hosted page; the money is recorded from Stripe's webhooks only (see
webhooks.py), never from the redirect back. Refunds are asked for inside the transaction that
cancels an order (or approves a return) and sent to Stripe by a task after the commit; the order
becomes `refunded` only when Stripe confirms.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, current_app, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..audit import services as audit
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import datetime_vn
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from ..orders.models import Order, OrderStatus, PaymentMethod, Purchase
from ..orders.payments import PaymentOption, register_payment_method
from ..registry.access import officer_covers
from . import services, stripe_gateway
from .models import CardCheckout, CheckoutStatus, Collector, Payment, PaymentStatus, Refund

log = logging.getLogger(__name__)

# Stripe accepts a Checkout Session's expires_at between 30 minutes and 24 hours from its creation;
# a minute of margin each side absorbs the clock difference with Stripe.
SESSION_MIN = dt.timedelta(minutes=31)
SESSION_MAX = dt.timedelta(hours=24) - dt.timedelta(minutes=1)


class Card(PaymentOption):
    """Visa, Mastercard, JCB… on Stripe's page; the platform collects for the cooperatives."""

    code = PaymentMethod.CARD
    label = _l("Card (Visa, Mastercard, JCB)")
    hint = _l("You pay on Stripe's secure page; the order goes ahead once the card payment is confirmed.")
    initial_status = OrderStatus.PENDING_PAYMENT

    def available(self, app: Flask) -> bool:
        return bool(app.config.get("STRIPE_SECRET_KEY") and app.config.get("STRIPE_WEBHOOK_SECRET"))

    def on_placed(self, purchase: Purchase) -> None:
        services.open_payments(purchase, collector_for=lambda order: (Collector.PLATFORM, None))

    def start(self, purchase: Purchase) -> str | None:
        """Open Stripe's page for the purchase; if Stripe is away, say so and stay on the purchase page."""
        try:
            checkout = open_checkout(purchase)
        except ServiceError as exc:
            flash(exc.message, "error")
            return None
        return checkout.url

    def on_cancelled(self, order: Order, *, actor: User | None) -> None:
        payment = services.payment_of(order)
        if payment is None:
            return
        if payment.status is PaymentStatus.SUCCEEDED:
            if services.refundable_vnd(payment) > 0:
                services.request_refund(payment, None, actor=actor, reason=_("The order was cancelled."))
            return
        # Not paid yet: stop waiting, and close Stripe's page so that it cannot be paid any more.
        services.payment_closed(payment, expired=actor is None)
        checkout = checkout_of(order.purchase)
        if checkout is not None and checkout.status is CheckoutStatus.OPEN and checkout.session_id:
            checkout.status = CheckoutStatus.EXPIRED
            db.session.flush()
            expire_after_commit(checkout.session_id)


def checkout_of(purchase: Purchase) -> CardCheckout | None:
    return db.session.scalar(select(CardCheckout).where(CardCheckout.purchase_id == purchase.id))


def _session_expiry(orders: list[Order], now: dt.datetime) -> tuple[dt.datetime, bool]:
    """Return when Stripe's page closes (the orders' deadline, within Stripe's limits) and if it was clamped."""
    deadlines = [order.expires_at for order in orders if order.expires_at is not None]
    wanted = min(deadlines) if deadlines else now + SESSION_MAX
    clamped = min(max(wanted, now + SESSION_MIN), now + SESSION_MAX)
    # Whole seconds: Stripe takes a Unix time, and a retry must send exactly the same parameters.
    clamped = clamped.replace(microsecond=0)
    return clamped, clamped != wanted.replace(microsecond=0)


def session_params(purchase: Purchase, orders: list[Order], expires_at: dt.datetime) -> dict:
    """Return the Checkout Session's parameters: one line per cooperative order, amounts in whole đồng."""
    order_ids = ",".join(str(order.id) for order in orders)
    metadata = {"purchase_id": str(purchase.id), "purchase_number": purchase.number, "order_ids": order_ids}
    page = url_for("orders.purchase", number=purchase.number, _external=True)
    return {
        "mode": "payment",
        "currency": "vnd",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "vnd",
                    "unit_amount": int(order.subtotal_vnd),  # VND is zero-decimal: đồng, not hundredths
                    "product_data": {"name": f"{order.unit.name} · {purchase.number}"},
                },
            }
            for order in orders
        ],
        "client_reference_id": purchase.number,
        "customer_email": purchase.buyer.email,
        "metadata": metadata,
        # PaymentIntent events (a declined card) carry the same keys, to find the purchase.
        "payment_intent_data": {"metadata": metadata},
        "success_url": f"{page}?card=done",
        "cancel_url": f"{page}?card=back",
        "expires_at": int(expires_at.timestamp()),
        "locale": "vi",
    }


def open_checkout(purchase: Purchase, *, now: dt.datetime | None = None) -> CardCheckout:
    """Create (or reuse) the purchase's Stripe Checkout Session for its orders still waiting for payment.

    The idempotency key is derived from the purchase (and the orders it covers), so a retry after a
    lost answer gets the same session from Stripe, not a second one. ServiceError when there is
    nothing to pay or Stripe cannot be reached; the purchase stays waiting for payment.
    """
    now = now or utcnow()
    if purchase.payment_method is not PaymentMethod.CARD:
        raise ServiceError(_("This order is not paid by card."))
    orders = [order for order in purchase.orders if order.status is OrderStatus.PENDING_PAYMENT]
    if not orders:
        raise ServiceError(_("Nothing is waiting for payment in this order."))
    checkout = checkout_of(purchase)
    if (
        checkout is not None
        and checkout.status is CheckoutStatus.OPEN
        and checkout.url
        and (checkout.expires_at is None or checkout.expires_at > now)
    ):
        return checkout

    expires_at, clamped = _session_expiry(orders, now)
    key = f"checkout-{purchase.number}"
    if len(orders) < len(purchase.orders):
        key += "-" + "-".join(str(order.id) for order in orders)
    if clamped:
        # The order's deadline is outside Stripe's 30 min–24 h window: the page closes at the nearest
        # allowed time (the order still lapses at its own deadline, closing the page with it).
        key += f"-{int(expires_at.timestamp())}"
        log.info("purchase %s: Stripe session expiry clamped to %s", purchase.number, expires_at.isoformat())
    try:
        session = stripe_gateway.create_checkout_session(
            session_params(purchase, orders, expires_at), idempotency_key=key
        )
    except stripe_gateway.GatewayError as exc:
        log.warning("purchase %s: no Stripe checkout session: %s", purchase.number, exc.message)
        deadlines = [order.expires_at for order in orders if order.expires_at is not None]
        if deadlines:
            raise ServiceError(
                _(
                    "We could not reach the card payment service. Your order is kept until %(time)s: "
                    "press “Pay by card” to try again.",
                    time=datetime_vn(min(deadlines)),
                )
            ) from exc
        raise ServiceError(_("We could not reach the card payment service. Press “Pay by card” to try again.")) from exc

    amount = sum(order.subtotal_vnd for order in orders)
    if checkout is None:
        checkout = CardCheckout(purchase_id=purchase.id, amount_vnd=amount)
        db.session.add(checkout)
    checkout.session_id = session["id"]
    checkout.url = session.get("url")
    checkout.amount_vnd = amount
    checkout.status = CheckoutStatus.OPEN
    checkout.payment_intent_id = None
    checkout.expires_at = (
        dt.datetime.fromtimestamp(session["expires_at"], dt.UTC) if session.get("expires_at") else expires_at
    )
    db.session.flush()
    return checkout


# ---------------------------------------------------------------- returns approved by an officer


def approve_return(order: Order, amount_vnd: int | None, *, actor: User, reason: str | None) -> Refund:
    """Approve a buyer's return of a delivered card-paid order: refund (part of) it through Stripe.

    Only an officer of the cooperative's province or an admin may. The order becomes `refunded` when
    Stripe confirms the whole amount went back.
    """
    if not officer_covers(actor, order.unit):
        raise PermissionDenied(_("Only an officer of the cooperative's province can approve a return."))
    reason = nfc(reason) or None
    if not reason:
        raise ServiceError(_("Give a reason: the buyer and the cooperative will see it."), field="reason")
    if len(reason) > 1000:
        raise ServiceError(_("At most %(n)d characters.", n=1000), field="reason")
    if order.status not in {OrderStatus.DELIVERED, OrderStatus.COMPLETED}:
        raise ServiceError(_("Only a delivered order can be returned."))
    payment = services.payment_of(order)
    if payment is None or payment.method is not PaymentMethod.CARD:
        raise ServiceError(_("This order was not paid by card: it cannot be refunded here."))
    refund = services.request_refund(payment, amount_vnd, actor=actor, reason=reason)
    audit.record(
        "payments.return.approve",
        actor=actor,
        obj=order,
        province_code=order.unit.province_code,
        summary=f"Approved the return of order {order.purchase.number} ({order.unit.name})",
        before={"order_status": order.status},
        after={"refund_id": refund.id, "amount_vnd": refund.amount_vnd, "reason": reason},
    )
    return refund


def card_payment(order: Order) -> Payment | None:
    """The card payment of an order, or None."""
    payment = services.payment_of(order)
    return payment if payment is not None and payment.method is PaymentMethod.CARD else None


# ---------------------------------------------------------------- work queued after the commit

_REFUNDS = "card_refunds_new"
_EXPIRE = "card_sessions_to_expire"


def expire_after_commit(session_id: str) -> None:
    """Close a Stripe page once the current transaction commits (best effort)."""
    db.session.info.setdefault(_EXPIRE, []).append(session_id)


def _collect(session: Session, flush_context) -> None:
    new = [obj.id for obj in session.new if isinstance(obj, Refund)]
    if new:
        session.info.setdefault(_REFUNDS, []).extend(new)


def _forget(session: Session, *args) -> None:
    session.info.pop(_REFUNDS, None)
    session.info.pop(_EXPIRE, None)


def _kick(session: Session) -> None:
    refunds = session.info.pop(_REFUNDS, None) or []
    sessions = session.info.pop(_EXPIRE, None) or []
    if not (refunds or sessions):
        return
    from flask import has_app_context

    if not has_app_context():
        return
    # Off under tests unless asked: they call the tasks directly.
    if not current_app.config.get("PAYMENTS_KICK_AFTER_COMMIT", not current_app.testing):
        return
    from . import tasks

    try:
        # No publish retries: a page must not wait for a broker that is away; the periodic
        # `payments.retry_refunds` sends what was not queued.
        for refund_id in refunds:
            tasks.refund.apply_async((refund_id,), retry=False)
        for session_id in sessions:
            tasks.expire_checkout.apply_async((session_id,), retry=False)
    except Exception as exc:  # the refund rows are safe in the database whatever the broker did
        log.warning("broker unavailable, refunds left to the periodic retry: %s", type(exc).__name__)


def listen_after_commit() -> None:
    """Queue Stripe calls for new refunds and closed pages as soon as their transaction commits."""
    for name, fn in (("after_flush", _collect), ("after_commit", _kick), ("after_rollback", _forget)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


CARD = Card()


def init_card(app: Flask) -> None:
    """Register the card method, its pages, the Stripe webhook and its tasks."""
    from . import tasks  # noqa: F401  (registers the Celery tasks)
    from .card_views import bp as card_bp
    from .webhooks import bp as webhooks_bp

    register_payment_method(CARD)
    listen_after_commit()
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(card_bp)
    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        schedule.setdefault("payments-retry-refunds", {"task": "payments.retry_refunds", "schedule": 300.0})
        schedule.setdefault("payments-sync-checkouts", {"task": "payments.sync_checkouts", "schedule": 300.0})
        celery.conf.beat_schedule = schedule
