"""The member register pages: staff keep it, officers of the unit's province read it."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.errors import ServiceError
from ..core.formtools import field_error
from ..core.i18n import local_today, vnd
from ..core.uploads import PendingUploads
from ..extensions import db
from ..registry.access import staff_role, staff_unit_or_404, visible_unit_or_404
from ..registry.models import Unit
from . import services
from .forms import ConfirmImportForm, ContributionForm, FilterForm, ImportForm, LeaveForm, MemberForm
from .labels import CATEGORY_LABELS, ENTRY_KIND_LABELS, ROLE_LABELS
from .models import CapitalEntryKind, Member, MemberCategory, MemberRole

_uploads = PendingUploads("member-imports")

bp = Blueprint("members", __name__, url_prefix="/members")

PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _logged_in():
    """Every page of the register needs a login."""


@bp.context_processor
def _labels():
    return {"category_labels": CATEGORY_LABELS, "role_labels": ROLE_LABELS, "entry_kind_labels": ENTRY_KIND_LABELS}


def _member_or_404(unit: Unit, member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None or member.unit_id != unit.id:
        abort(404)
    return member


def _can_edit(unit: Unit) -> bool:
    return staff_role(current_user, unit.id) is not None


def _status() -> int:
    return 200 if request.method == "GET" else 422


def _member_data(form: MemberForm) -> services.MemberData:
    return services.MemberData(
        code=form.code.data,
        full_name=form.full_name.data or "",
        phone=form.phone.data,
        address=form.address.data,
        category=MemberCategory(form.category.data),
        role=MemberRole(form.role.data),
        joined_on=form.joined_on.data,
    )


# ------------------------------------------------------------------ register


@bp.get("/units/<int:unit_id>/")
def register(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    form = FilterForm(formdata=request.args)
    if not form.validate():
        form = FilterForm(formdata=None)  # nonsense in the address bar: show the default list
    members = services.list_members(
        unit,
        status=form.status.data or services.Status.ACTIVE,
        q=form.q.data,
        # Optional() passes a blank value ("\x1d" is blank to str.strip) without checking it against the choices.
        category=MemberCategory(form.category.data) if (form.category.data or "").strip() else None,
        role=MemberRole(form.role.data) if (form.role.data or "").strip() else None,
    )
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pages = max((len(members) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    shown = members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "members/register.html",
        unit=unit,
        form=form,
        members=shown,
        found=len(members),
        page=page,
        pages=pages,
        args=args,
        balances=services.member_balances(unit),
        totals=services.register_totals(unit),
        can_edit=_can_edit(unit),
    )


@bp.route("/units/<int:unit_id>/new", methods=["GET", "POST"])
def add(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    form = MemberForm()
    if request.method == "GET":
        form.joined_on.data = local_today()
    if form.validate_on_submit():
        try:
            member = services.add_member(unit, actor=current_user, data=_member_data(form))
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "full_name")
        else:
            db.session.commit()
            flash(_("%(name)s is in the register as %(code)s.", name=member.full_name, code=member.code), "success")
            return redirect(url_for(".detail", unit_id=unit.id, member_id=member.id))
    return render_template(
        "members/member_form.html", unit=unit, form=form, member=None, next_code=services.next_code(unit)
    ), _status()


@bp.get("/units/<int:unit_id>/<int:member_id>")
def detail(unit_id: int, member_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    member = _member_or_404(unit, member_id)
    form = ContributionForm(formdata=None)
    form.entry_date.data = local_today()
    return _detail_page(unit, member, form, 200)


def _detail_page(unit: Unit, member: Member, form: ContributionForm, status: int):
    lines = services.ledger(member)
    return render_template(
        "members/detail.html",
        unit=unit,
        member=member,
        lines=lines,
        balance=lines[-1].balance_vnd if lines else 0,
        form=form,
        can_edit=_can_edit(unit),
        today=local_today(),
    ), status


@bp.route("/units/<int:unit_id>/<int:member_id>/edit", methods=["GET", "POST"])
def edit(unit_id: int, member_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    member = _member_or_404(unit, member_id)
    form = MemberForm(obj=member)
    if form.validate_on_submit():
        try:
            services.update_member(member, actor=current_user, data=_member_data(form))
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "full_name")
        else:
            db.session.commit()
            flash(_("The member's details are saved."), "success")
            return redirect(url_for(".detail", unit_id=unit.id, member_id=member.id))
    return render_template("members/member_form.html", unit=unit, form=form, member=member), _status()


@bp.route("/units/<int:unit_id>/<int:member_id>/leave", methods=["GET", "POST"])
def leave(unit_id: int, member_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    member = _member_or_404(unit, member_id)
    if member.left_on is not None:
        flash(_("This member has already left."), "info")
        return redirect(url_for(".detail", unit_id=unit.id, member_id=member.id))
    form = LeaveForm()
    if request.method == "GET":
        form.left_on.data = local_today()
    if form.validate_on_submit():
        try:
            services.mark_left(member, actor=current_user, left_on=form.left_on.data, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "left_on")
        else:
            db.session.commit()
            flash(_("%(name)s has left the register.", name=member.full_name), "success")
            return redirect(url_for(".detail", unit_id=unit.id, member_id=member.id))
    balance = services.member_balance(member)
    return render_template("members/leave.html", unit=unit, member=member, form=form, balance=balance), _status()


@bp.post("/units/<int:unit_id>/<int:member_id>/capital")
def record(unit_id: int, member_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    member = _member_or_404(unit, member_id)
    form = ContributionForm()
    if form.validate_on_submit():
        try:
            entry = services.record_contribution(
                member,
                actor=current_user,
                kind=form.kind.data,
                amount_vnd=form.amount_vnd.amount,
                entry_date=form.entry_date.data,
                note=form.note.data,
            )
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "amount_vnd")
        else:
            db.session.commit()
            if entry.kind is CapitalEntryKind.CONTRIBUTED:
                flash(_("Contribution of %(amount)s recorded.", amount=vnd(entry.amount_vnd)), "success")
            else:
                flash(_("Return of %(amount)s recorded.", amount=vnd(entry.amount_vnd)), "success")
            return redirect(url_for(".detail", unit_id=unit.id, member_id=member.id))
    return _detail_page(unit, member, form, 422)


# ------------------------------------------------------------------ import and export


@bp.route("/units/<int:unit_id>/import", methods=["GET", "POST"])
def import_upload(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    form = ImportForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        if not data:
            form.file.errors.append(_("The file is empty."))
        else:
            token = _uploads.save(data, unit_id=unit.id, user_id=current_user.id)
            return redirect(url_for(".import_preview", unit_id=unit.id, token=token))
    return render_template("members/import.html", unit=unit, form=form, headers=services.export_headers()), _status()


@bp.route("/units/<int:unit_id>/import/<token>", methods=["GET", "POST"])
def import_preview(unit_id: int, token: str):
    unit = staff_unit_or_404(unit_id, current_user)
    stored = _uploads.load(token, unit_id=unit.id, user_id=current_user.id)
    if stored is None:
        abort(404)
    data, _filename = stored
    form = ConfirmImportForm()
    if form.validate_on_submit():
        try:
            plan = services.import_members(unit, actor=current_user, data=data)
        except services.MemberImportRejected:
            db.session.rollback()  # the register changed since the preview: show the new verdict
        else:
            db.session.commit()
            _uploads.discard(token)
            flash(
                _(
                    "Import done: %(new)d new, %(changed)d updated, %(same)d unchanged.",
                    new=len(plan.new),
                    changed=len(plan.changed),
                    same=plan.unchanged,
                ),
                "success",
            )
            return redirect(url_for(".register", unit_id=unit.id))
    plan = services.plan_import(unit, data)
    return render_template(
        "members/import_preview.html",
        unit=unit,
        form=form,
        plan=plan,
        token=token,
        headers=services.export_headers(),
    ), 200 if request.method == "GET" else 422


@bp.get("/units/<int:unit_id>/export")
def export(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    return send_file(
        BytesIO(services.export_register(unit)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=services.export_filename(unit),
        max_age=0,
    )
