"""Orders verbs and queries: the cart and checkout live in cart.py and checkout.py, moves in states.py.

The verbs below are the moves people make from the order pages, each through `states.transition`.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..extensions import db
from ..registry.access import units_of
from ..registry.models import Unit
from .checkout import place_purchase, purchase_by_key  # noqa: F401  (the area's public verbs in one place)
from .models import Order, OrderEvent, OrderStatus, Purchase
from .states import allowed_moves, transition  # noqa: F401


def cancel_order(order: Order, *, actor: User, reason: str | None = None) -> OrderEvent:
    """Cancel as the buyer (before confirmation); the stock goes back."""
    return transition(order, OrderStatus.CANCELLED, actor=actor, reason=reason)


def confirm_order(order: Order, *, actor: User) -> OrderEvent:
    """Confirm as the cooperative: it will fulfil the order."""
    return transition(order, OrderStatus.CONFIRMED, actor=actor)


def reject_order(order: Order, *, actor: User, reason: str | None) -> OrderEvent:
    """Reject (cancel) as the cooperative, with a reason the buyer sees; the stock goes back."""
    return transition(order, OrderStatus.CANCELLED, actor=actor, reason=reason)


def ship_order(order: Order, *, actor: User, carrier: str | None, tracking_code: str | None) -> OrderEvent:
    """Mark shipped as the cooperative, with the carrier and its tracking code."""
    return transition(order, OrderStatus.SHIPPED, actor=actor, carrier=carrier, tracking_code=tracking_code)


def deliver_order(order: Order, *, actor: User) -> OrderEvent:
    """Mark delivered as the cooperative."""
    return transition(order, OrderStatus.DELIVERED, actor=actor)


# ---------------------------------------------------------------- queries


def purchases_of(buyer: User) -> Select:
    """The buyer's purchases, newest first, with their orders."""
    return (
        select(Purchase)
        .where(Purchase.buyer_id == buyer.id)
        .options(selectinload(Purchase.orders).selectinload(Order.unit))
        .order_by(Purchase.created_at.desc(), Purchase.id.desc())
    )


def incoming_orders(unit: Unit, status: OrderStatus | None = None) -> Select:
    """The unit's orders, newest first, optionally of one status."""
    query = (
        select(Order)
        .where(Order.unit_id == unit.id)
        .options(selectinload(Order.purchase))
        .order_by(Order.placed_at.desc(), Order.id.desc())
    )
    if status is not None:
        query = query.where(Order.status == status)
    return query


def status_counts(unit: Unit) -> dict[OrderStatus, int]:
    """How many of the unit's orders are in each status."""
    rows = db.session.execute(
        select(Order.status, func.count()).where(Order.unit_id == unit.id).group_by(Order.status)
    ).all()
    return {OrderStatus(status): n for status, n in rows}


def units_with_waiting_orders(user: User) -> list[tuple[Unit, int]]:
    """The units `user` works for, each with how many orders wait for its confirmation."""
    units = units_of(user)
    if not units:
        return []
    waiting = dict(
        db.session.execute(
            select(Order.unit_id, func.count())
            .where(Order.unit_id.in_([u.id for u in units]), Order.status == OrderStatus.PLACED)
            .group_by(Order.unit_id)
        ).all()
    )
    return [(unit, waiting.get(unit.id, 0)) for unit in units]
