"""The order state machine: the one place that knows which moves are allowed, and to whom.

Every change of an order's status goes through `transition`, which checks the move and the actor,
records an OrderEvent (who, when, why) and does what the move implies (a delivery date, the stock
going back on cancellation, exactly once).
"""

from __future__ import annotations

import datetime as dt
import enum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import User
from ..catalog.models import Product
from ..core.errors import PermissionDenied, ServiceError
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from ..notifications import events as notification_events
from ..registry.access import staff_role
from .models import Order, OrderEvent, OrderLine, OrderStatus
from .payments import payment_option


class Party(enum.StrEnum):
    """Who makes a move: the buyer, the cooperative's staff, or the system (actor None)."""

    BUYER = "buyer"
    STAFF = "staff"
    SYSTEM = "system"


S = OrderStatus
P = Party

# (from, to) -> who may make the move. Nothing else is possible.
MOVES: dict[tuple[OrderStatus, OrderStatus], frozenset[Party]] = {
    (S.PENDING_PAYMENT, S.PLACED): frozenset({P.SYSTEM}),  # the payment arrived
    (S.PENDING_PAYMENT, S.CANCELLED): frozenset({P.BUYER, P.SYSTEM}),  # given up, or expired unpaid
    (S.PLACED, S.CONFIRMED): frozenset({P.STAFF}),
    (S.PLACED, S.CANCELLED): frozenset({P.BUYER, P.STAFF}),  # the buyer cancels, or the cooperative rejects
    (S.CONFIRMED, S.SHIPPED): frozenset({P.STAFF}),
    (S.CONFIRMED, S.CANCELLED): frozenset({P.STAFF}),  # the cooperative cannot fulfil after all
    (S.SHIPPED, S.DELIVERED): frozenset({P.STAFF}),
    (S.DELIVERED, S.COMPLETED): frozenset({P.SYSTEM}),
    # By the payments area, once the provider confirms the whole amount went back.
    (S.CANCELLED, S.REFUNDED): frozenset({P.SYSTEM}),
    (S.DELIVERED, S.REFUNDED): frozenset({P.SYSTEM}),
    (S.COMPLETED, S.REFUNDED): frozenset({P.SYSTEM}),
}

STATUS_LABELS = {
    S.PENDING_PAYMENT: _l("Waiting for payment"),
    S.PLACED: _l("Placed"),
    S.CONFIRMED: _l("Confirmed"),
    S.SHIPPED: _l("Shipped"),
    S.DELIVERED: _l("Delivered"),
    S.COMPLETED: _l("Completed"),
    S.CANCELLED: _l("Cancelled"),
    S.REFUNDED: _l("Refunded"),
}

# Orders still in the cooperative's hands (for filters and counts).
OPEN_STATUSES = frozenset({S.PENDING_PAYMENT, S.PLACED, S.CONFIRMED, S.SHIPPED})

_SHIPPING_FIELDS = ("carrier", "tracking_code")
_FIELD_MAX = 80


def parties(order: Order, actor: User | None) -> frozenset[Party]:
    """What `actor` is to `order`: its buyer, staff of its cooperative, both, or the system."""
    if actor is None:
        return frozenset({Party.SYSTEM})
    found = set()
    if order.purchase.buyer_id == actor.id:
        found.add(Party.BUYER)
    if staff_role(actor, order.unit_id) is not None:
        found.add(Party.STAFF)
    return frozenset(found)


def allowed_moves(order: Order, actor: User | None) -> list[OrderStatus]:
    """The statuses `actor` may move `order` to now."""
    who = parties(order, actor)
    return [to for (frm, to), allowed in MOVES.items() if frm is order.status and who & allowed]


def can_move(order: Order, to: OrderStatus, actor: User | None) -> bool:
    return OrderStatus(to) in allowed_moves(order, actor)


def transition(
    order: Order,
    to: OrderStatus | str,
    *,
    actor: User | None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    **fields: str | None,
) -> OrderEvent:
    """Move `order` to `to` as `actor` (None: the system), record the move, and do what it implies."""
    to = OrderStatus(to)
    unknown = set(fields) - set(_SHIPPING_FIELDS)
    if unknown:
        raise TypeError(f"transition() got unexpected fields {sorted(unknown)}")
    now = now or utcnow()
    # Lock the order: two people pressing "confirm" and "cancel" together make one move, not two.
    db.session.refresh(order, with_for_update=True)
    current = order.status
    allowed = MOVES.get((current, to))
    if allowed is None:
        raise ServiceError(
            _(
                "This order is “%(status)s”: it cannot become “%(to)s”.",
                status=STATUS_LABELS[current],
                to=STATUS_LABELS[to],
            )
        )
    who = parties(order, actor) & allowed
    if not who:
        if to is S.CANCELLED and Party.BUYER in parties(order, actor):
            raise PermissionDenied(
                _(
                    "This order is “%(status)s”: it can no longer be cancelled. Contact the cooperative.",
                    status=STATUS_LABELS[current],
                )
            )
        raise PermissionDenied(_("You may not make this change to the order."))
    reason = nfc(reason) or None
    if to is S.CANCELLED and who == {Party.STAFF} and not reason:
        raise ServiceError(_("Give a reason: the buyer will see it."), field="reason")
    if to is S.SHIPPED:
        for name in _SHIPPING_FIELDS:
            value = nfc(fields.get(name)) or None
            if value is None:
                raise ServiceError(
                    _("Enter the carrier.") if name == "carrier" else _("Enter the tracking code."), field=name
                )
            if len(value) > _FIELD_MAX:
                raise ServiceError(_("At most %(n)d characters.", n=_FIELD_MAX), field=name)
            setattr(order, name, value)

    order.status = to
    if to is S.PLACED:
        order.expires_at = None
    elif to is S.DELIVERED:
        order.delivered_at = now
    event = OrderEvent(order=order, from_status=current, to_status=to, actor_id=actor.id if actor else None)
    event.reason = reason
    event.created_at = now
    db.session.add(event)
    db.session.flush()
    if to is S.CANCELLED:
        return_stock(order, now=now)
    option = payment_option(order.purchase.payment_method)
    if option is not None and to is S.CANCELLED:
        option.on_cancelled(order, actor=actor)
    elif option is not None and to is S.DELIVERED:
        option.on_delivered(order, actor=actor)
    notification_events.order_moved(order, event, by_staff=who == {Party.STAFF})
    return event


def return_stock(order: Order, *, now: dt.datetime | None = None) -> bool:
    """Put the order's quantities back on the shelf, once: False when they already went back."""
    now = now or utcnow()
    # The conditional update is the guard: of two concurrent calls, the second matches no row.
    marked = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.stock_returned_at.is_(None))
        .values(stock_returned_at=now)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        return False
    set_committed_value(order, "stock_returned_at", now)
    quantities = db.session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity))
        .where(OrderLine.order_id == order.id)
        .group_by(OrderLine.product_id)
        .order_by(OrderLine.product_id)  # the same lock order as checkout: no deadlock between them
    ).all()
    for product_id, quantity in quantities:
        db.session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
            .execution_options(synchronize_session=False)
        )
        product = db.session.identity_map.get(db.session.identity_key(Product, product_id))  # type: ignore[arg-type]
        if product is not None:
            db.session.expire(product, ["stock"])
    return True


def expire_unpaid_orders(now: dt.datetime | None = None) -> int:
    """Cancel orders left unpaid past their deadline, returning their stock; return how many."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.status == S.PENDING_PAYMENT, Order.expires_at.is_not(None), Order.expires_at <= now)
        .order_by(Order.id)
    ).all()
    done = 0
    for order_id in ids:
        order = db.session.get(Order, order_id)
        if order is None:
            continue
        try:
            transition(order, S.CANCELLED, actor=None, reason=_("Not paid in time."), now=now)
        except ServiceError:
            continue  # paid or cancelled meanwhile: the lock showed its new status
        done += 1
    return done


def complete_delivered_orders(now: dt.datetime | None = None, after_days: int = 14) -> int:
    """Complete orders delivered at least `after_days` ago; return how many."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=after_days)
    ids = db.session.scalars(
        select(Order.id)
        .where(Order.status == S.DELIVERED, Order.delivered_at.is_not(None), Order.delivered_at <= cutoff)
        .order_by(Order.id)
    ).all()
    done = 0
    for order_id in ids:
        order = db.session.get(Order, order_id)
        if order is None:
            continue
        try:
            transition(order, S.COMPLETED, actor=None, now=now)
        except ServiceError:
            continue
        done += 1
    return done
