"""Checkout: one cart becomes one purchase, split into one order per cooperative, never overselling.

Stock is taken by atomic conditional updates in product-id order inside the caller's transaction: a
product's row is locked from its update to the commit, so concurrent checkouts queue on it and each
sees the stock the one before left. A refused checkout raises ServiceError after having taken
some stock: the caller rolls back, and nothing was taken.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..accounts.models import User
from ..catalog.models import Product
from ..core import places
from ..core.errors import ServiceError
from ..core.models import utcnow
from ..core.text import nfc
from ..core.validators import normalize_vn_phone
from ..extensions import db
from ..notifications import events as notification_events
from .cart import empty_cart, quantity_error, sellable
from .models import Cart, CartItem, Order, OrderEvent, OrderLine, OrderStatus, Purchase
from .payments import payment_option

# Purchase numbers are read out on the phone: no 0/O, 1/I/L.
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
NUMBER_PREFIX = "KTT-"
NUMBER_LENGTH = 8


def new_idempotency_key() -> str:
    """Return a fresh one-time key for a checkout form."""
    return secrets.token_urlsafe(32)


def new_purchase_number() -> str:
    """Return a purchase number nobody has yet, e.g. KTT-7QX4M2HP."""
    while True:
        number = NUMBER_PREFIX + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
        if db.session.scalar(select(Purchase.id).where(Purchase.number == number)) is None:
            return number


def purchase_by_key(idempotency_key: str | None) -> Purchase | None:
    """The purchase a checkout form with this key already made, if any."""
    if not idempotency_key:
        return None
    return db.session.scalar(select(Purchase).where(Purchase.idempotency_key == idempotency_key))


@dataclass(frozen=True)
class Delivery:
    contact_name: str
    phone: str
    province_code: int
    ward_code: int
    street: str
    note: str | None


def check_delivery(details: Mapping[str, Any]) -> Delivery:
    """Check and normalise the delivery details; ServiceError names the field at fault."""
    name = nfc(details.get("contact_name"))
    if not name:
        raise ServiceError(_("Enter the name of the person receiving the goods."), field="contact_name")
    if len(name) > 120:
        raise ServiceError(_("At most %(n)d characters.", n=120), field="contact_name")
    phone = normalize_vn_phone(details.get("phone"))
    if phone is None:
        raise ServiceError(_("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84)."), field="phone")
    province = details.get("province_code")
    if not isinstance(province, int) or not places.is_province(province):
        raise ServiceError(_("Choose a province from the list."), field="province_code")
    ward = details.get("ward_code")
    if not isinstance(ward, int) or not places.is_ward(ward):
        raise ServiceError(_("Choose a ward from the list."), field="ward_code")
    if places.ward_province(ward) != province:
        raise ServiceError(
            _("This ward is not in %(province)s.", province=places.province_name(province)), field="ward_code"
        )
    street = nfc(details.get("street"))
    if not street:
        raise ServiceError(_("Enter the street address: house number and street or hamlet."), field="street")
    if len(street) > 255:
        raise ServiceError(_("At most %(n)d characters.", n=255), field="street")
    note = nfc(details.get("note")) or None
    if note and len(note) > 2000:
        raise ServiceError(_("At most %(n)d characters.", n=2000), field="note")
    return Delivery(name, phone, province, ward, street, note)


@dataclass(frozen=True)
class _Taken:
    product_id: int
    unit_id: int
    name: str
    sale_unit: str
    price_vnd: int
    quantity: int


def _take_stock(product_id: int, quantity: int) -> _Taken | None:
    """Take `quantity` off the product's stock if it has that much and is published; None if not."""
    row = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity, Product.published.is_(True))
        .values(stock=Product.stock - quantity)
        .returning(Product.id, Product.unit_id, Product.name, Product.sale_unit, Product.price_vnd)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        return None
    # The row is locked now: the price read with the update is the one the buyer pays.
    return _Taken(row.id, row.unit_id, row.name, str(row.sale_unit), row.price_vnd, quantity)


def place_purchase(
    cart: Cart,
    *,
    actor: User,
    details: Mapping[str, Any],
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> Purchase:
    """Turn `actor`'s cart into one purchase with one order per cooperative, taking the stock.

    `details`: contact_name, phone, province_code, ward_code, street, note, payment_method, and
    optionally expected_total_vnd (the total the buyer saw; a different one refuses the checkout).
    The same `idempotency_key` twice returns the first purchase.
    """
    existing = purchase_by_key(idempotency_key)
    if existing is not None:
        if existing.buyer_id != actor.id:
            raise ServiceError(_("This checkout form has already been used. Reload the page and try again."))
        return existing
    if not idempotency_key or len(idempotency_key) > 64:
        raise ServiceError(_("This checkout form has expired. Reload the page and try again."))
    if cart.user_id != actor.id:
        raise ServiceError(_("This is not your cart."))
    option = payment_option(details.get("payment_method") or "")
    if option is None or not option.available(current_app):
        raise ServiceError(_("Choose a payment method from the list."), field="payment_method")
    delivery = check_delivery(details)

    items = db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id).order_by(CartItem.product_id)).all()
    if not items:
        raise ServiceError(_("Your cart is empty."))
    for item in items:
        product = item.product
        if not sellable(product):
            raise ServiceError(_("%(name)s is no longer for sale: remove it from your cart.", name=product.name))
        error = quantity_error(product, item.quantity)
        if error:
            raise ServiceError(error)

    # Product-id order: two checkouts sharing products lock them in the same order and cannot deadlock.
    taken: list[_Taken] = []
    for item in items:
        got = _take_stock(item.product_id, item.quantity)
        if got is None:
            left = db.session.scalar(select(Product.stock).where(Product.id == item.product_id)) or 0
            name = item.product.name
            if left <= 0:
                raise ServiceError(_("%(name)s is sold out: remove it from your cart.", name=name))
            raise ServiceError(_("Only %(n)d of %(name)s left: lower the quantity in your cart.", n=left, name=name))
        taken.append(got)
    for item in items:
        db.session.expire(item.product, ["stock"])

    total = sum(t.price_vnd * t.quantity for t in taken)
    expected = details.get("expected_total_vnd")
    if expected is not None and expected != total:
        raise ServiceError(
            _("Prices changed since you opened this page. Check the new total and place the order again.")
        )

    now = now or utcnow()
    status = option.initial_status
    expires_at = None
    if status is OrderStatus.PENDING_PAYMENT:
        minutes = int(current_app.config.get("ORDER_PAYMENT_TIMEOUT_MINUTES", 60))
        expires_at = now + dt.timedelta(minutes=minutes)
    purchase = Purchase(
        number=new_purchase_number(),
        buyer_id=actor.id,
        idempotency_key=idempotency_key,
        contact_name=delivery.contact_name,
        phone=delivery.phone,
        province_code=delivery.province_code,
        ward_code=delivery.ward_code,
        street=delivery.street,
        note=delivery.note,
        payment_method=option.code,
        total_vnd=total,
        created_at=now,
    )
    db.session.add(purchase)
    for unit_id, unit_lines in groupby(sorted(taken, key=lambda t: (t.unit_id, t.product_id)), key=lambda t: t.unit_id):
        unit_lines = list(unit_lines)
        order = Order(
            purchase=purchase,
            unit_id=unit_id,
            status=status,
            subtotal_vnd=sum(t.price_vnd * t.quantity for t in unit_lines),
            expires_at=expires_at,
            placed_at=now,
        )
        db.session.add(order)
        for t in unit_lines:
            db.session.add(
                OrderLine(
                    order=order,
                    product_id=t.product_id,
                    product_name=t.name,
                    sale_unit=t.sale_unit,
                    unit_price_vnd=t.price_vnd,
                    quantity=t.quantity,
                    line_total_vnd=t.price_vnd * t.quantity,
                )
            )
        db.session.add(OrderEvent(order=order, from_status=None, to_status=status, actor_id=actor.id, created_at=now))
    empty_cart(cart)
    db.session.flush()
    option.on_placed(purchase)
    notification_events.purchase_placed(purchase)
    return purchase
