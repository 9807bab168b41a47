"""Bank-transfer pages: record a transfer received by its reference; a cooperative's own bank account.

Also gives the order pages (templates/payments/_*.html, included there) what they show of a payment.
"""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..core.errors import PermissionDenied, ServiceError
from ..core.formtools import field_error, form_status
from ..core.i18n import datetime_vn, vnd
from ..extensions import db
from ..orders.models import Order
from ..registry.access import staff_unit_or_404
from . import transfers, vietqr
from .forms import BankAccountForm, RecordTransferForm, RefundSentForm
from .models import Collector, Payment, PaymentStatus
from .services import payment_of

bp = Blueprint("payments", __name__, url_prefix="/payments")
log = logging.getLogger(__name__)

PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Waiting for payment"),
    PaymentStatus.SUCCEEDED: _l("Paid"),
    PaymentStatus.FAILED: _l("Payment failed"),
    PaymentStatus.EXPIRED: _l("Not paid in time"),
    PaymentStatus.CANCELLED: _l("Nothing to pay (cancelled)"),
}

TRANSFERS_SHOWN = 200


def bank_label(bank_bin: str | None) -> str:
    """Return a bank's short and full name from its BIN (the BIN itself when unknown)."""
    bank = vietqr.BANKS_BY_BIN.get(bank_bin or "")
    return f"{bank.short_name} – {bank.name}" if bank else (bank_bin or "")


def transfer_qr(payment: Payment) -> dict | None:
    """Return the VietQR payload and its PNG as a data: URI (CSP allows data: images, not inline scripts)."""
    try:
        payload = transfers.transfer_payload(payment)
    except ValueError:
        # A receiving account the QR format cannot carry: the page still shows the details to type.
        log.exception("no VietQR code for payment %s", payment.id)
        return None
    if payload is None:
        return None
    png = base64.b64encode(vietqr.qr_png(payload, scale=5)).decode("ascii")
    return {"payload": payload, "src": f"data:image/png;base64,{png}"}


def order_payment(order: Order) -> Payment | None:
    """Return the payment of an order, for the order pages."""
    return payment_of(order)


@bp.app_context_processor
def _payments_context() -> dict:
    return {
        "order_payment": order_payment,
        "transfer_qr": transfer_qr,
        "bank_label": bank_label,
        "PAYMENT_STATUS_LABELS": PAYMENT_STATUS_LABELS,
        "COLLECTOR_PLATFORM": Collector.PLATFORM,
    }


# ---------------------------------------------------------------- transfers received


@bp.route("/transfers", methods=["GET", "POST"])
@login_required
def transfers_page():
    if not transfers.may_record_any(current_user):
        abort(403)
    form = RecordTransferForm()
    if request.method == "GET" and request.args.get("reference"):
        form.reference.data = request.args["reference"][:60]
    if form.validate_on_submit():
        try:
            payment, done = transfers.record_transfer(form.reference.data, form.amount_vnd.data, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc)
        else:
            db.session.commit()
            number = payment.purchase.number
            if done:
                flash(
                    _(
                        "Transfer %(reference)s recorded: order %(number)s is paid and goes to the cooperative.",
                        reference=payment.reference,
                        number=number,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Transfer %(reference)s was already recorded on %(time)s: nothing changed.",
                        reference=payment.reference,
                        time=_when(payment),
                    ),
                    "info",
                )
            return redirect(url_for(".transfers_page"))
    return _transfers_page(form=form)


def _transfers_page(*, form: RecordTransferForm | None = None, refund_form: RefundSentForm | None = None):
    pending = db.session.scalars(transfers.recordable_transfers(current_user).limit(TRANSFERS_SHOWN)).all()
    refunds = db.session.scalars(transfers.refunds_to_send(current_user).limit(TRANSFERS_SHOWN)).all()
    return render_template(
        "payments/transfers.html",
        form=form or RecordTransferForm(formdata=None),
        pending=pending,
        refunds=refunds,
        refund_form=refund_form,
    ), form_status()


@bp.post("/transfers/refunds")
@login_required
def refund_sent():
    if not transfers.may_record_any(current_user):
        abort(403)
    form = RefundSentForm()
    if form.validate_on_submit():
        refund_id = form.refund_id.data
        try:
            refund = transfers.record_refund_sent(
                int(refund_id) if (refund_id or "").isdigit() else None, form.bank_reference.data, actor=current_user
            )
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc)
        else:
            db.session.commit()
            flash(
                _(
                    "Refund of %(amount)s for order %(number)s recorded as sent.",
                    amount=vnd(refund.amount_vnd),
                    number=refund.payment.purchase.number,
                ),
                "success",
            )
            return redirect(url_for(".transfers_page"))
    return _transfers_page(refund_form=form)


def _when(payment: Payment) -> str:
    return datetime_vn(payment.paid_at) if payment.paid_at else ""


# ---------------------------------------------------------------- a cooperative's own account


@bp.route("/units/<int:unit_id>/bank-account", methods=["GET", "POST"])
@login_required
def bank_account(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user, owner=True)
    form = BankAccountForm(
        data={"bank_bin": unit.bank_bin or "", "account": unit.bank_account, "holder": unit.bank_account_name}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            transfers.set_bank_account(
                unit,
                actor=current_user,
                bank_bin=form.bank_bin.data,
                account=form.account.data,
                holder=form.holder.data,
            )
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc)
        else:
            db.session.commit()
            if unit.bank_account:
                flash(_("Bank account saved: buyers' transfers now go straight to it."), "success")
            else:
                flash(_("Bank account removed: transfers go to the platform's account, if it has one."), "success")
            return redirect(url_for(".bank_account", unit_id=unit.id))
    return render_template("payments/bank_account.html", unit=unit, form=form), form_status()
