"""Carts: a visitor's (by a random token kept in the session) or a user's; one cart spans cooperatives.

These functions never read the session: views pass the token or the user. They flush, never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from ..catalog.models import Product
from ..core.errors import ServiceError
from ..extensions import db
from ..registry.models import Unit
from .models import Cart, CartItem

MAX_QUANTITY = 100_000  # far beyond any stock: a typo's guard, not a business rule


def new_cart_token() -> str:
    """Return a fresh, unguessable cart token."""
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- quantity rules


def is_allowed_quantity(product: Product, quantity: int) -> bool:
    """Whether `quantity` is one the product sells: its minimum, then by its step (like <input min step>)."""
    return quantity >= product.min_quantity and (quantity - product.min_quantity) % product.quantity_step == 0


def fit_quantity(product: Product, wanted: int) -> int | None:
    """The largest allowed quantity not above `wanted` nor the stock; None when not even the minimum fits."""
    ceiling = min(wanted, product.stock)
    if ceiling < product.min_quantity:
        return None
    return ceiling - (ceiling - product.min_quantity) % product.quantity_step


def quantity_error(product: Product, quantity: int) -> str | None:
    """The message for a quantity the product does not sell, or None when it is fine."""
    if quantity > MAX_QUANTITY:
        return _("That quantity is too large.")
    if quantity < product.min_quantity:
        return _(
            "The smallest quantity of %(name)s is %(n)d.",
            name=product.name,
            n=product.min_quantity,
        )
    if not is_allowed_quantity(product, quantity):
        return _(
            "%(name)s is sold from %(min)d in steps of %(step)d (%(min)d, %(next)d, %(after)d, …).",
            name=product.name,
            min=product.min_quantity,
            step=product.quantity_step,
            next=product.min_quantity + product.quantity_step,
            after=product.min_quantity + 2 * product.quantity_step,
        )
    return None


def sellable(product: Product | None) -> bool:
    """Whether the product may be bought now: published, by a unit that may sell."""
    return product is not None and product.published and product.unit is not None and product.unit.can_sell


def _stock_message(product: Product, kept: int | None) -> str:
    if kept is None:
        if product.stock <= 0:
            return _("%(name)s is sold out.", name=product.name)
        return _("Only %(n)d of %(name)s left, less than the smallest quantity.", n=product.stock, name=product.name)
    return _("Only %(n)d of %(name)s left: your cart holds %(kept)d.", n=product.stock, name=product.name, kept=kept)


# ---------------------------------------------------------------- finding and making carts


def cart_for_user(user_id: int, *, create: bool = False) -> Cart | None:
    """The user's cart; made (empty) when `create` and there is none."""
    cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    if cart is None and create:
        cart = Cart(user_id=user_id, token=new_cart_token())
        db.session.add(cart)
        db.session.flush()
    return cart


def cart_for_token(token: str | None, *, create: bool = False) -> Cart | None:
    """The visitor cart with this token (never a user's cart); made when `create`."""
    if not token:
        return None
    cart = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))
    if cart is None and create:
        if db.session.scalar(select(Cart.id).where(Cart.token == token)) is not None:
            return None  # a token that belongs to a user's cart is never a visitor's
        cart = Cart(token=token)
        db.session.add(cart)
        db.session.flush()
    return cart


def item_count(cart_id: int | None) -> int:
    """How many different products the cart holds."""
    if cart_id is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(CartItem).where(CartItem.cart_id == cart_id)) or 0


def user_item_count(user_id: int) -> int:
    """How many different products the user's cart holds (one query, for the header)."""
    return db.session.scalar(select(func.count()).select_from(CartItem).join(Cart).where(Cart.user_id == user_id)) or 0


def token_item_count(token: str) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(CartItem).join(Cart).where(Cart.token == token, Cart.user_id.is_(None))
        )
        or 0
    )


# ---------------------------------------------------------------- changing a cart


@dataclass
class CartChange:
    """What an add or update did: the quantity now in the cart, and a warning when less than asked."""

    product: Product
    quantity: int
    warning: str | None = None


def _item(cart: Cart, product_id: int) -> CartItem | None:
    return db.session.scalar(select(CartItem).where(CartItem.cart_id == cart.id, CartItem.product_id == product_id))


def _product_for_sale(product_id: int | None) -> Product:
    product = db.session.get(Product, product_id) if product_id else None
    if not sellable(product):
        raise ServiceError(_("This product is not for sale."), field="product_id")
    return product


def add_item(cart: Cart, product_id: int | None, quantity: int | None) -> CartChange:
    """Add `quantity` of a product (on top of what the cart holds), kept within the stock."""
    product = _product_for_sale(product_id)
    if quantity is None or quantity < 1:
        raise ServiceError(_("Enter a quantity of at least 1."), field="quantity")
    error = quantity_error(product, quantity)
    if error:
        raise ServiceError(error, field="quantity")
    item = _item(cart, product.id)
    wanted = quantity + (item.quantity if item else 0)
    return _set(cart, item, product, wanted)


def set_quantity(cart: Cart, product_id: int | None, quantity: int | None) -> CartChange | None:
    """Change the quantity of a product in the cart (0 removes it); None when it was removed."""
    item = _item(cart, product_id) if product_id else None
    if item is None:
        raise ServiceError(_("This product is not in your cart."), field="product_id")
    if quantity is None or quantity < 0:
        raise ServiceError(_("Enter a quantity of 0 or more."), field="quantity")
    if quantity == 0:
        db.session.delete(item)
        db.session.flush()
        return None
    product = _product_for_sale(product_id)
    error = quantity_error(product, quantity)
    if error:
        raise ServiceError(error, field="quantity")
    return _set(cart, item, product, quantity)


def _set(cart: Cart, item: CartItem | None, product: Product, wanted: int) -> CartChange:
    kept = fit_quantity(product, wanted)
    if kept is None:
        raise ServiceError(_stock_message(product, None), field="quantity")
    if item is None:
        item = CartItem(cart_id=cart.id, product_id=product.id, quantity=kept)
        db.session.add(item)
    else:
        item.quantity = kept
    db.session.flush()
    db.session.expire(cart, ["items"])
    return CartChange(product, kept, _stock_message(product, kept) if kept < wanted else None)


def remove_item(cart: Cart, product_id: int | None) -> bool:
    """Take a product out of the cart; False when it was not there."""
    item = _item(cart, product_id) if product_id else None
    if item is None:
        return False
    db.session.delete(item)
    db.session.flush()
    db.session.expire(cart, ["items"])
    return True


def empty_cart(cart: Cart) -> None:
    db.session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))
    db.session.expire(cart, ["items"])


def merge_carts(source: Cart, target: Cart) -> None:
    """Move a visitor's cart into a user's: quantities of the same product add up, within the stock."""
    if source.id == target.id:
        return
    held = {item.product_id: item for item in target.items}
    for item in list(source.items):
        product = item.product
        mine = held.get(item.product_id)
        if mine is None:
            db.session.add(CartItem(cart_id=target.id, product_id=item.product_id, quantity=item.quantity))
            continue
        # Keep what both carts asked for; when the stock is short, what it allows (the cart page says so).
        total = mine.quantity + item.quantity
        mine.quantity = fit_quantity(product, total) or max(mine.quantity, item.quantity)
    db.session.delete(source)
    db.session.flush()
    db.session.expire(target, ["items"])


# ---------------------------------------------------------------- reading a cart


@dataclass
class CartLine:
    item: CartItem
    product: Product
    line_total_vnd: int
    problem: str | None = None  # why it cannot be bought as it stands


@dataclass
class CartGroup:
    unit: Unit
    lines: list[CartLine] = field(default_factory=list)

    @property
    def subtotal_vnd(self) -> int:
        return sum(line.line_total_vnd for line in self.lines)


@dataclass
class CartView:
    groups: list[CartGroup]

    @property
    def total_vnd(self) -> int:
        return sum(group.subtotal_vnd for group in self.groups)

    @property
    def lines(self) -> list[CartLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def ready(self) -> bool:
        """Whether every line can be bought as it stands."""
        return bool(self.groups) and not any(line.problem for line in self.lines)


def line_problem(product: Product, quantity: int) -> str | None:
    """Why this line cannot be bought now, or None."""
    if not sellable(product):
        return _("No longer for sale: remove it from your cart.")
    if product.stock < quantity:
        if product.stock < product.min_quantity:
            return _("Sold out: remove it from your cart.")
        return _("Only %(n)d left: lower the quantity.", n=product.stock)
    return quantity_error(product, quantity)


def view_cart(cart: Cart | None) -> CartView:
    """The cart grouped by cooperative (by name), with line totals at today's prices."""
    if cart is None:
        return CartView([])
    items = db.session.scalars(
        select(CartItem)
        .where(CartItem.cart_id == cart.id)
        .options(selectinload(CartItem.product).selectinload(Product.unit))
        .order_by(CartItem.id)
    ).all()
    ordered = sorted(items, key=lambda i: (i.product.unit.name, i.product.unit_id, i.id))
    groups = []
    for _unit_id, unit_items in groupby(ordered, key=lambda i: i.product.unit_id):
        unit_items = list(unit_items)
        group = CartGroup(unit_items[0].product.unit)
        for item in unit_items:
            product = item.product
            group.lines.append(
                CartLine(item, product, product.price_vnd * item.quantity, line_problem(product, item.quantity))
            )
        groups.append(group)
    return CartView(groups)
