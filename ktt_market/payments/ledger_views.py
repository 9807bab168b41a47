"""Ledger pages: a cooperative's balance and statement, and the admin's payout runs."""

from __future__ import annotations

import re
from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..core.access import admin_required
from ..core.i18n import local_time, local_today, vnd
from ..core.text import fold
from ..extensions import db
from ..registry.access import staff_role, visible_unit_or_404
from ..registry.models import Unit
from . import ledger, payouts
from .ledger_forms import PayoutRowForm, PayoutRunForm, StatementFilterForm
from .models import PayoutBatch

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 50
# The statement is small (one cooperative, one month): written in the request, not as a background export.


@bp.context_processor
def _ledger_context() -> dict:
    return {"LEDGER_KIND_LABELS": ledger.ENTRY_KIND_LABELS, "payout_bank": payouts.bank_label}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", fold(text)).strip("-").upper()


# ---------------------------------------------------------------- the cooperative's statement


def _period(form: StatementFilterForm) -> ledger.Period:
    if form.month.data and not form.month.errors:
        return ledger.Period.containing(form.month.data)
    return ledger.Period.containing(local_today())


@bp.get("/units/<int:unit_id>")
@login_required
def statement(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    form = StatementFilterForm(request.args)
    if request.args.get("month") and not form.validate():
        form.month.errors = [_("Choose a month from the calendar, e.g. 2026-11.")]
    period = _period(form)
    form.month.data = period.start
    page = db.paginate(
        ledger.statement_query(unit.id, period),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "ledger/statement.html",
        unit=unit,
        form=form,
        period=period,
        balance=ledger.balance(unit.id),
        totals=ledger.period_totals(unit.id, period),
        page=page,
        lines=ledger.statement_lines(page.items),
        # Order pages are the cooperative's own; officers and admins see the number only.
        is_staff=staff_role(current_user, unit.id) is not None,
    )


@bp.get("/units/<int:unit_id>/export")
@login_required
def statement_export(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    form = StatementFilterForm(request.args)
    if request.args.get("month") and not form.validate():
        return redirect(url_for(".statement", unit_id=unit.id, month=request.args.get("month")))
    period = _period(form)
    name = _slug(unit.registration_code) or str(unit.id)
    return send_file(
        BytesIO(ledger.statement_xlsx(unit.id, period)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"so-cai-{name}-{period.key}.xlsx",
        max_age=0,
    )


# ---------------------------------------------------------------- the admin's payout runs


def _run_page(form: PayoutRunForm, status: int = 200):
    payable = payouts.payable_units()
    rows_by_unit = {}
    for entry in form.rows:
        if (entry.form.unit_id.data or "").isdigit():
            rows_by_unit[int(entry.form.unit_id.data)] = entry.form
    # Units owed money since the form was opened get a fresh row of their own.
    for item in payable:
        if item.unit.id not in rows_by_unit:
            form.rows.append_entry({"unit_id": str(item.unit.id), "amount": str(item.balance_vnd)})
            rows_by_unit[item.unit.id] = form.rows[-1].form
    owed = {item.unit.id: item for item in payable}
    rows = []
    for unit_id, row in rows_by_unit.items():
        item = owed.get(unit_id)
        unit = item.unit if item else db.session.get(Unit, unit_id)
        if unit is None:
            continue
        _label_row(row, unit)
        rows.append((row, unit, item.balance_vnd if item else 0))
    rows.sort(key=lambda r: (r[1].name, r[1].id))
    return render_template("ledger/payouts.html", form=form, rows=rows, has_account=payouts.has_bank_account), status


def _label_row(row: PayoutRowForm, unit: Unit) -> None:
    # Each row's inputs are labelled with their cooperative: a screen reader hears which one it is.
    row.selected.label.text = _("Pay %(unit)s", unit=unit.name)
    row.amount.label.text = _("Amount for %(unit)s (đồng)", unit=unit.name)
    row.bank_reference.label.text = _("Bank reference for %(unit)s", unit=unit.name)


@bp.route("/payouts", methods=["GET", "POST"])
@admin_required
def payout_run():
    if request.method == "GET":
        form = PayoutRunForm(formdata=None)
        form.idempotency_key.data = payouts.new_run_key()
        for item in payouts.payable_units():
            form.rows.append_entry({"unit_id": str(item.unit.id), "amount": str(item.balance_vnd)})
        return _run_page(form)

    form = PayoutRunForm()
    done = payouts.batch_by_key(form.idempotency_key.data)
    if done is not None:
        # A second click or a refresh of the same form: show the batch the first one recorded.
        flash(_("This payout run was already recorded."), "info")
        return redirect(url_for(".batch", batch_id=done.id))
    if not form.validate_on_submit():
        return _run_page(form, 422)
    selected = form.selected_rows()
    if not selected:
        flash(_("Choose at least one cooperative to pay."), "error")
        return _run_page(form, 422)
    by_unit = {int(row.unit_id.data): row for row in selected}
    lines = [
        payouts.PayoutLine(
            unit_id=int(row.unit_id.data), amount_vnd=row.amount_vnd, bank_reference=row.bank_reference.data
        )
        for row in selected
    ]
    try:
        batch, created = payouts.record_payouts(
            lines, actor=current_user, key=form.idempotency_key.data, note=form.note.data
        )
        db.session.commit()
    except payouts.PayoutRefused as exc:
        db.session.rollback()
        row = by_unit.get(exc.unit_id)
        if row is not None and exc.field in ("amount_vnd", "bank_reference"):
            target = row.amount if exc.field == "amount_vnd" else row.bank_reference
            target.errors = [*target.errors, exc.message]
        else:
            flash(exc.message, "error")
        return _run_page(form, 422)
    if created:
        flash(
            ngettext(
                "Payout recorded: %(num)d cooperative, %(total)s.",
                "Payouts recorded: %(num)d cooperatives, %(total)s.",
                len(batch.payouts),
                total=vnd(payouts.batch_total(batch)),
            ),
            "success",
        )
    else:
        flash(_("This payout run was already recorded."), "info")
    return redirect(url_for(".batch", batch_id=batch.id))


@bp.get("/payouts/batches")
@admin_required
def batches():
    page = db.paginate(
        payouts.batches_query(), page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "ledger/batches.html", page=page, total=payouts.batch_total, creators=payouts.creator_names(page.items)
    )


def _batch_or_404(batch_id: int) -> PayoutBatch:
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None:
        abort(404)
    return batch


@bp.get("/payouts/batches/<int:batch_id>")
@admin_required
def batch(batch_id: int):
    batch = _batch_or_404(batch_id)
    return render_template(
        "ledger/batch.html",
        batch=batch,
        total=payouts.batch_total(batch),
        creators=payouts.creator_names([batch]),
    )


@bp.get("/payouts/batches/<int:batch_id>/export")
@admin_required
def batch_export(batch_id: int):
    batch = _batch_or_404(batch_id)
    return send_file(
        BytesIO(payouts.batch_xlsx(batch)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"chi-tra-{batch.id}-{local_time(batch.created_at):%Y-%m-%d}.xlsx",
        max_age=0,
    )
