"""Orders pages: the cart, checkout, the buyer's purchases, and the cooperative's incoming orders."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from wtforms import SelectChoice

from ..core import places
from ..core.errors import ServiceError
from ..core.formtools import field_error, form_status
from ..core.i18n import vnd
from ..extensions import db
from ..registry.access import staff_unit_or_404
from ..registry.forms import ward_choices
from . import cart as carts
from . import services
from .access import order_for_staff_or_404, order_of_purchase_or_404, purchase_for_buyer_or_404
from .checkout import new_idempotency_key, place_purchase, purchase_by_key
from .forms import (
    SALE_UNIT_LABELS,
    CancelForm,
    CartAddForm,
    CartRemoveForm,
    CartUpdateForm,
    CheckoutForm,
    DeliverForm,
    MoveForm,
    RejectForm,
    ShipForm,
)
from .models import Cart, Order, OrderStatus, Purchase
from .payments import available_payment_options, payment_option
from .states import STATUS_LABELS, allowed_moves

bp = Blueprint("orders", __name__)
log = logging.getLogger(__name__)

CART_KEY = "cart_token"  # the login view keeps this key across the fresh session it starts
PER_PAGE = 30


@bp.app_context_processor
def _orders_context() -> dict:
    def cart_count() -> int:
        """How many products the visitor's or user's cart holds (queried only when a page shows it)."""
        if current_user.is_authenticated:
            return carts.user_item_count(current_user.id)
        token = session.get(CART_KEY)
        return carts.token_item_count(token) if token else 0

    return {
        "cart_count": cart_count,
        "ORDER_STATUS_LABELS": STATUS_LABELS,
        "SALE_UNIT_LABELS": SALE_UNIT_LABELS,
        "province_name": places.province_name,
        "ward_name": places.ward_name,
    }


# ---------------------------------------------------------------- the cart


def _current_cart(*, create: bool = False) -> Cart | None:
    """The logged-in user's cart, or the visitor's by the token in the session."""
    if current_user.is_authenticated:
        return carts.cart_for_user(current_user.id, create=create)
    token = session.get(CART_KEY)
    if not token and create:
        token = session[CART_KEY] = carts.new_cart_token()
    return carts.cart_for_token(token, create=create)


def merge_visitor_cart(sender, user, **extra) -> None:
    """On login, move the visitor's cart into the user's (flask_login's user_logged_in signal)."""
    # The token stays in the session: its cart is gone once merged, and logging out clears the session.
    token = session.get(CART_KEY)
    if not token:
        return
    try:
        visitor = carts.cart_for_token(token)
        if visitor is None:
            return
        target = carts.cart_for_user(user.id, create=True)
        carts.merge_carts(visitor, target)
        db.session.commit()
    except SQLAlchemyError:
        # Logging in matters more than the visitor's cart (e.g. two tabs logging in at once).
        db.session.rollback()
        log.exception("could not merge the visitor cart into user %s", user.id)


def _cart_page(*, add_form: CartAddForm | None = None, status: int = 200):
    view = carts.view_cart(_current_cart())
    return render_template("orders/cart.html", cart=view, add_form=add_form), status


@bp.get("/cart")
def cart():
    return _cart_page()


@bp.post("/cart/add")
def cart_add():
    form = CartAddForm()
    if form.validate_on_submit():
        target = _current_cart(create=True)
        if target is None:  # a stale token that now names a user's cart: start afresh
            session[CART_KEY] = carts.new_cart_token()
            target = _current_cart(create=True)
        try:
            change = carts.add_item(target, form.product_id.data, form.quantity.data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "quantity")
        else:
            db.session.commit()
            if change.warning:
                flash(change.warning, "warning")
            else:
                flash(_("%(name)s is in your cart.", name=change.product.name), "success")
            return redirect(url_for(".cart"))
    return _cart_page(add_form=form, status=422)


@bp.post("/cart/update")
def cart_update():
    form = CartUpdateForm()
    target = _current_cart()
    if form.validate_on_submit() and target is not None:
        try:
            change = carts.set_quantity(target, form.product_id.data, form.quantity.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            if change is None:
                flash(_("Removed from your cart."), "success")
            elif change.warning:
                flash(change.warning, "warning")
            else:
                flash(_("Your cart is updated."), "success")
            return redirect(url_for(".cart"))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        if target is None:
            flash(_("This product is not in your cart."), "error")
    return _cart_page(status=422)


@bp.post("/cart/remove")
def cart_remove():
    form = CartRemoveForm()
    target = _current_cart()
    if form.validate_on_submit() and target is not None and carts.remove_item(target, form.product_id.data):
        db.session.commit()
        flash(_("Removed from your cart."), "success")
        return redirect(url_for(".cart"))
    flash(_("This product is not in your cart."), "error")
    return _cart_page(status=422)


# ---------------------------------------------------------------- checkout


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    # isascii and the length: "²" passes isdigit() and int() refuses thousands of digits, both would be a 500.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    my_cart = carts.cart_for_user(current_user.id)
    province = request.args.get("province", type=int)
    if province is not None and not places.is_province(province):
        province = None
    form = CheckoutForm()
    form.province_code = province
    form.ward_code.choices = ward_choices(province, _("Choose a ward or commune"))
    # The service says which ward is wrong and why; the list's own "Not a valid choice" would not.
    form.ward_code.validate_choice = False
    options = available_payment_options(current_app)
    form.payment_method.choices = [SelectChoice(option.code.value, option.label) for option in options]

    if request.method == "POST":
        key = form.idempotency_key.data
        done = purchase_by_key(key)
        if done is not None and done.buyer_id == current_user.id:
            # A second click or a refresh of the same form: show the purchase the first one made.
            flash(_("Your order %(number)s was already placed.", number=done.number), "info")
            return redirect(url_for(".purchase", number=done.number))
        if form.validate_on_submit():
            if province is None:
                flash(_("Choose the province of the delivery address first."), "error")
            elif my_cart is None:
                flash(_("Your cart is empty."), "error")
            else:
                details = {
                    "contact_name": form.contact_name.data,
                    "phone": form.phone.data,
                    "province_code": province,
                    "ward_code": _int(form.ward_code.data),
                    "street": form.street.data,
                    "note": form.note.data,
                    "payment_method": form.payment_method.data,
                    "expected_total_vnd": _int(form.expected_total.data),
                }
                try:
                    purchase = place_purchase(my_cart, actor=current_user, details=details, idempotency_key=key)
                    db.session.commit()
                except IntegrityError:
                    # The same form sent twice at the same moment: the other request made the purchase.
                    db.session.rollback()
                    done = purchase_by_key(key)
                    if done is None or done.buyer_id != current_user.id:
                        raise
                    return redirect(url_for(".purchase", number=done.number))
                except ServiceError as exc:
                    db.session.rollback()
                    done = purchase_by_key(key)
                    if done is not None and done.buyer_id == current_user.id:
                        # The twin request won while this one read the cart: it found it empty.
                        return redirect(url_for(".purchase", number=done.number))
                    field_error(form, exc)
                else:
                    return _after_checkout(purchase)
    else:
        if my_cart is None or not carts.item_count(my_cart.id):
            flash(_("Your cart is empty."), "info")
            return redirect(url_for(".cart"))
        form.contact_name.data = form.contact_name.data or current_user.full_name
        form.phone.data = form.phone.data or current_user.phone
        form.idempotency_key.data = new_idempotency_key()
        if len(options) == 1:
            form.payment_method.data = options[0].code.value

    view = carts.view_cart(my_cart)
    # The total on the page is the total the buyer agrees to: a price change before the click is caught.
    form.expected_total.data = str(view.total_vnd)
    return render_template(
        "orders/checkout.html", form=form, cart=view, province=province, provinces=places.provinces()
    ), form_status()


def _after_checkout(purchase: Purchase):
    flash(_("Thank you! Your order %(number)s is placed.", number=purchase.number), "success")
    option = payment_option(purchase.payment_method)
    target = option.start(purchase) if option is not None else None
    if target:
        db.session.commit()  # whatever the payment method recorded on the way
        return redirect(target)
    return redirect(url_for(".purchase", number=purchase.number))


# ---------------------------------------------------------------- the buyer's purchases


@bp.get("/orders")
@login_required
def my_orders():
    page = db.paginate(
        services.purchases_of(current_user),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("orders/mine.html", page=page, units=services.units_with_waiting_orders(current_user))


def _purchase_page(purchase: Purchase, *, failed_order: Order | None = None, cancel_form: CancelForm | None = None):
    moves = {order.id: allowed_moves(order, current_user) for order in purchase.orders}
    return render_template(
        "orders/purchase.html",
        purchase=purchase,
        moves=moves,
        cancel_form=cancel_form or CancelForm(formdata=None),
        failed_order=failed_order,
        payment=payment_option(purchase.payment_method),
    ), form_status()


@bp.get("/orders/<number>")
@login_required
def purchase(number: str):
    return _purchase_page(purchase_for_buyer_or_404(number, current_user))


@bp.post("/orders/<number>/<int:order_id>/cancel")
@login_required
def cancel(number: str, order_id: int):
    purchase = purchase_for_buyer_or_404(number, current_user)
    order = order_of_purchase_or_404(purchase, order_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel_order(order, actor=current_user, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The order from %(unit)s is cancelled.", unit=order.unit.name), "success")
            return redirect(url_for(".purchase", number=purchase.number))
    return _purchase_page(purchase, failed_order=order, cancel_form=form)


# ---------------------------------------------------------------- the cooperative's orders


@bp.get("/orders/units")
@login_required
def unit_index():
    return render_template("orders/units.html", units=services.units_with_waiting_orders(current_user))


@bp.get("/orders/units/<int:unit_id>/incoming")
@login_required
def incoming(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    status_arg = request.args.get("status") or None
    try:
        status = OrderStatus(status_arg) if status_arg else None
    except ValueError:
        status = None
    page = db.paginate(
        services.incoming_orders(unit, status),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "orders/incoming.html",
        unit=unit,
        page=page,
        status=status,
        counts=services.status_counts(unit),
        statuses=list(OrderStatus),
        args={"status": status.value} if status else {},
    )


def _unit_order_page(order: Order, **forms):
    forms.setdefault("reject_form", RejectForm(formdata=None))
    forms.setdefault("ship_form", ShipForm(formdata=None))
    forms.setdefault("deliver_form", _deliver_form(order, DeliverForm(formdata=None)))
    return render_template(
        "orders/unit_order.html",
        order=order,
        unit=order.unit,
        purchase=order.purchase,
        moves=allowed_moves(order, current_user),
        **forms,
    ), form_status()


@bp.get("/orders/units/<int:unit_id>/<int:order_id>")
@login_required
def unit_order(unit_id: int, order_id: int):
    return _unit_order_page(order_for_staff_or_404(unit_id, order_id, current_user))


def _staff_move(unit_id: int, order_id: int, form, form_name: str | None, act, done: str):
    order = order_for_staff_or_404(unit_id, order_id, current_user)
    if form.validate_on_submit():
        try:
            act(order, form)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for(".unit_order", unit_id=unit_id, order_id=order_id))
    return _unit_order_page(order, **({form_name: form} if form_name else {}))


@bp.post("/orders/units/<int:unit_id>/<int:order_id>/confirm")
@login_required
def confirm(unit_id: int, order_id: int):
    return _staff_move(
        unit_id,
        order_id,
        MoveForm(),
        None,
        lambda order, form: services.confirm_order(order, actor=current_user),
        _("The order is confirmed. The buyer can see it."),
    )


@bp.post("/orders/units/<int:unit_id>/<int:order_id>/reject")
@login_required
def reject(unit_id: int, order_id: int):
    return _staff_move(
        unit_id,
        order_id,
        RejectForm(),
        "reject_form",
        lambda order, form: services.reject_order(order, actor=current_user, reason=form.reason.data),
        _("The order is rejected and its stock is back on sale."),
    )


@bp.post("/orders/units/<int:unit_id>/<int:order_id>/ship")
@login_required
def ship(unit_id: int, order_id: int):
    return _staff_move(
        unit_id,
        order_id,
        ShipForm(),
        "ship_form",
        lambda order, form: services.ship_order(
            order, actor=current_user, carrier=form.carrier.data, tracking_code=form.tracking_code.data
        ),
        _("The order is marked shipped."),
    )


def _deliver_form(order: Order, form: DeliverForm) -> DeliverForm:
    """Ask for the cash when the order is paid on delivery and may be delivered now."""
    option = payment_option(order.purchase.payment_method)
    form.cash_required = bool(
        option is not None and option.paid_on_delivery and OrderStatus.DELIVERED in allowed_moves(order, current_user)
    )
    if form.cash_required:
        form.cash_received.label.text = _("Cash received: %(amount)s", amount=vnd(order.subtotal_vnd))
    return form


@bp.post("/orders/units/<int:unit_id>/<int:order_id>/deliver")
@login_required
def deliver(unit_id: int, order_id: int):
    order = order_for_staff_or_404(unit_id, order_id, current_user)
    return _staff_move(
        unit_id,
        order_id,
        _deliver_form(order, DeliverForm()),
        "deliver_form",
        lambda order, form: services.deliver_order(order, actor=current_user),
        _("The order is marked delivered."),
    )


@bp.get("/orders/units/<int:unit_id>/<int:order_id>/packing-slip")
@login_required
def packing_slip(unit_id: int, order_id: int):
    order = order_for_staff_or_404(unit_id, order_id, current_user)
    return render_template("orders/packing_slip.html", order=order, unit=order.unit, purchase=order.purchase)
