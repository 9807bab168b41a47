"""Card pages: the buyer pays again by card; an officer approves the return of a card-paid order."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import Role
from ..core.errors import ServiceError
from ..core.formtools import form_status
from ..core.i18n import vnd
from ..extensions import db
from ..orders.access import purchase_for_buyer_or_404
from ..orders.models import Order, OrderStatus, PaymentMethod, Purchase
from ..registry.access import officer_covers, officer_unit_or_404
from . import services
from .card import approve_return, open_checkout
from .card_forms import ApproveReturnForm, PayByCardForm, ReturnSearchForm
from .models import Refund, RefundStatus

bp = Blueprint("payments_card", __name__)

REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: _l("Refund requested"),
    RefundStatus.SUCCEEDED: _l("Refunded"),
    RefundStatus.FAILED: _l("Refund failed"),
}


@bp.app_context_processor
def _card_context() -> dict:
    def card_state(purchase: Purchase) -> dict | None:
        """What the purchase page shows of a card purchase: can it be paid now, and its refunds."""
        if purchase.payment_method is not PaymentMethod.CARD:
            return None
        refunds = db.session.scalars(
            select(Refund)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.purchase_id == purchase.id)
            .order_by(Refund.id)
        ).all()
        waiting = any(order.status is OrderStatus.PENDING_PAYMENT for order in purchase.orders)
        return {"waiting": waiting, "refunds": refunds}

    return {"card_state": card_state, "REFUND_STATUS_LABELS": REFUND_STATUS_LABELS}


@bp.post("/orders/<number>/pay-by-card")
@login_required
def pay_by_card(number: str):
    purchase = purchase_for_buyer_or_404(number, current_user)
    if purchase.payment_method is not PaymentMethod.CARD:
        abort(404)
    form = PayByCardForm()
    if form.validate_on_submit():
        try:
            checkout = open_checkout(purchase)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            return redirect(checkout.url)
    else:
        flash(_("This form has expired. Reload the page and try again."), "error")
    from ..orders.views import _purchase_page  # the purchase page, answered with 422

    return _purchase_page(purchase)


def _require_officer() -> None:
    if current_user.role not in {Role.OFFICER, Role.ADMIN}:
        abort(404)


@bp.get("/payments/returns")
@login_required
def returns():
    """Find a card-paid order of the officer's province by its number, to approve a return."""
    _require_officer()
    form = ReturnSearchForm(request.args)
    orders: list[Order] = []
    number = (form.number.data or "").strip().upper()
    if number and form.validate():
        purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
        if purchase is not None and purchase.payment_method is PaymentMethod.CARD:
            orders = [order for order in purchase.orders if officer_covers(current_user, order.unit)]
    return render_template("payments/card_returns.html", form=form, orders=orders, searched=bool(number))


def _return_page(order: Order, form: ApproveReturnForm):
    payment = services.payment_of(order)
    return render_template(
        "payments/card_return.html",
        order=order,
        purchase=order.purchase,
        payment=payment,
        refundable=services.refundable_vnd(payment) if payment else 0,
        refunded=services.refunded_vnd(payment) if payment else 0,
        returnable=order.status in {OrderStatus.DELIVERED, OrderStatus.COMPLETED},
        form=form,
    ), form_status()


def _order_for_officer_or_404(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    officer_unit_or_404(order.unit_id, current_user)  # an officer of another province sees nothing
    return order


@bp.get("/payments/returns/<int:order_id>")
@login_required
def return_page(order_id: int):
    order = _order_for_officer_or_404(order_id)
    return _return_page(order, ApproveReturnForm(formdata=None))


@bp.post("/payments/returns/<int:order_id>")
@login_required
def approve(order_id: int):
    order = _order_for_officer_or_404(order_id)
    form = ApproveReturnForm()
    if form.validate_on_submit():
        try:
            refund = approve_return(order, form.amount_vnd.data, actor=current_user, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            name = exc.field if exc.field in form else None
            if name:
                form[name].errors = [*form[name].errors, exc.message]
            else:
                flash(exc.message, "error")
        else:
            amount = refund.amount_vnd
            db.session.commit()
            flash(
                _(
                    "The return is approved: %(amount)s goes back to the buyer's card once Stripe confirms.",
                    amount=vnd(amount),
                ),
                "success",
            )
            return redirect(url_for(".return_page", order_id=order.id))
    return _return_page(order, form)
