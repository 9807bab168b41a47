"""Who may see which purchase and order: 404 for anything that is not the user's to see."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from ..registry.access import staff_unit_or_404
from .models import Order, Purchase


def purchase_for_buyer_or_404(number: str, user: User) -> Purchase:
    """The purchase with this number, if `user` made it; else 404 (another buyer's looks like none)."""
    purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
    if purchase is None or purchase.buyer_id != user.id:
        abort(404)
    return purchase


def order_of_purchase_or_404(purchase: Purchase, order_id: int) -> Order:
    """One cooperative's order within the buyer's purchase; else 404."""
    order = db.session.get(Order, order_id)
    if order is None or order.purchase_id != purchase.id:
        abort(404)
    return order


def order_for_staff_or_404(unit_id: int, order_id: int, user: User) -> Order:
    """The order, if it belongs to that unit and `user` is the unit's staff; else 404."""
    staff_unit_or_404(unit_id, user)
    order = db.session.get(Order, order_id)
    if order is None or order.unit_id != unit_id:
        abort(404)
    return order
