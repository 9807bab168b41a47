"""Registry pages: the province's list of units, unit pages, applications, and the registry import."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..core import places
from ..core.access import officer_required
from ..core.errors import PermissionDenied, ServiceError
from ..core.formtools import field_error, form_status
from ..core.i18n import local_today
from ..core.spreadsheets import SpreadsheetError, read_sheet
from ..core.uploads import PendingUploads
from ..extensions import db
from . import importing, services
from .access import officer_unit_or_404, province_scope, staff_role, staff_unit_or_404, visible_unit_or_404
from .forms import (
    KIND_LABELS,
    PLATFORM_STATUS_LABELS,
    SECTOR_LABELS,
    STAFF_ROLE_LABELS,
    STATE_LABELS,
    ClaimForm,
    ImportForm,
    OfficerUnitForm,
    OwnerUnitForm,
    RegisterUnitForm,
    RejectForm,
    StaffForm,
    UnitFilterForm,
    province_choices,
    ward_choices,
)
from .models import (
    ApplicationKind,
    ApplicationStatus,
    OperatingState,
    PlatformStatus,
    Sector,
    StaffRole,
    Unit,
    UnitApplication,
    UnitKind,
    UnitStaff,
)

bp = Blueprint("registry", __name__, url_prefix="/registry")

PER_PAGE = 50
PREVIEW_CHANGES = 200
PREVIEW_ERRORS = 500


@bp.app_context_processor
def _labels() -> dict:
    return {
        "KIND_LABELS": KIND_LABELS,
        "SECTOR_LABELS": SECTOR_LABELS,
        "PLATFORM_STATUS_LABELS": PLATFORM_STATUS_LABELS,
        "STATE_LABELS": STATE_LABELS,
        "STAFF_ROLE_LABELS": STAFF_ROLE_LABELS,
        "APPLICATION_KIND_LABELS": {
            ApplicationKind.REGISTER: _("New registration"),
            ApplicationKind.CLAIM: _("Claim of a registry unit"),
        },
        "APPLICATION_STATUS_LABELS": {
            ApplicationStatus.PENDING: _("Waiting"),
            ApplicationStatus.APPROVED: _("Approved"),
            ApplicationStatus.REJECTED: _("Rejected"),
        },
        "province_name": places.province_name,
        "ward_name": places.ward_name,
        "has_units": _has_units,
    }


def _has_units() -> bool:
    """Whether the user works for a unit or asked to (asked only when a page shows the menu)."""
    return current_user.is_authenticated and services.has_units_or_applications(current_user)


def _enum_arg(enum_cls, value: str | None):
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _int_arg(value: str | None) -> int | None:
    # isascii: "²" is a digit to str.isdigit but not to int(); the length keeps int() off huge strings.
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 9 else None


# ---------------------------------------------------------------- the registry list


@bp.get("/")
@officer_required
def index():
    scope = province_scope(current_user)
    form = UnitFilterForm(request.args)
    province = scope
    if scope is None:
        province = _int_arg(form.province.data)
        if province is not None and not places.is_province(province):
            province = None
    form.province.choices = province_choices(_("All provinces"))
    form.ward.choices = ward_choices(province, _("All"))
    ward = _int_arg(form.ward.data)
    if ward is not None and (province is None or places.ward_province(ward) != province):
        ward = None

    query = services.unit_search(
        province_code=province,
        kind=_enum_arg(UnitKind, form.kind.data),
        sector=_enum_arg(Sector, form.sector.data),
        ward_code=ward,
        platform_status=_enum_arg(PlatformStatus, form.status.data),
        state=_enum_arg(OperatingState, form.state.data),
        text=form.q.data,
    )
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    matching = query.order_by(None).subquery()
    by_status = dict(
        db.session.execute(select(matching.c.platform_status, func.count()).group_by(matching.c.platform_status)).all()
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "registry/index.html",
        form=form,
        page=page,
        members=services.members_shown_many(page.items),
        by_status=by_status,
        args=args,
        scope=scope,
        province=province,
        today=local_today(),
    )


# ---------------------------------------------------------------- one unit


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    fields = services.editable_fields(unit, current_user)
    role = staff_role(current_user, unit.id)
    return render_template(
        "registry/unit.html",
        unit=unit,
        state=unit.state_on(local_today()),
        staff=services.staff_of(unit),
        applications=services.applications_of_unit(unit),
        members=services.members_shown(unit),
        can_edit=bool(fields),
        is_staff=role is not None,
        is_owner=role is StaffRole.OWNER,
    )


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit_unit(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    fields = services.editable_fields(unit, current_user)
    if not fields:
        abort(403)
    as_officer = fields == services.OFFICER_FIELDS
    province = unit.province_code
    if as_officer:
        form = OfficerUnitForm(obj=unit)
        # Only an admin may move a unit to another province; an officer's wards are those of the province.
        if current_user.is_admin:
            chosen = request.args.get("province", type=int)
            if chosen is not None and places.is_province(chosen):
                province = chosen
        form.ward_code.choices = ward_choices(province, _("Choose a ward or commune"))
    else:
        form = OwnerUnitForm(obj=unit)
    if form.validate_on_submit():
        data = {name: form[name].data for name in fields}
        if as_officer:
            data["province_code"] = province
        try:
            services.update_unit(unit, actor=current_user, data=data)
            db.session.commit()
        except PermissionDenied:
            abort(403)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "name" if as_officer else "contact_name")
        except IntegrityError:
            db.session.rollback()
            form.registration_code.errors = [_("A unit with this registration code is already in the registry.")]
        else:
            flash(_("The unit is saved."), "success")
            return redirect(url_for(".unit", unit_id=unit.id))
    return render_template(
        "registry/edit.html",
        form=form,
        unit=unit,
        as_officer=as_officer,
        province=province,
        provinces=places.provinces() if as_officer and current_user.is_admin else None,
    ), form_status()


@bp.route("/units/<int:unit_id>/staff", methods=["GET", "POST"])
@login_required
def unit_staff(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user, owner=True)
    form = StaffForm()
    if form.validate_on_submit():
        try:
            link = services.add_staff(unit, actor=current_user, email=form.email.data, role=form.role.data)
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "email")
        else:
            db.session.commit()
            flash(_("%(name)s is now on the staff.", name=link.user.full_name), "success")
            return redirect(url_for(".unit_staff", unit_id=unit.id))
    return render_template("registry/staff.html", unit=unit, form=form, staff=services.staff_of(unit)), form_status()


@bp.post("/units/<int:unit_id>/staff/<int:user_id>/remove")
@login_required
def remove_staff(unit_id: int, user_id: int):
    unit = staff_unit_or_404(unit_id, current_user, owner=True)
    try:
        services.remove_staff(unit, actor=current_user, user_id=user_id)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("registry/staff.html", unit=unit, form=StaffForm(), staff=services.staff_of(unit)), 422
    db.session.commit()
    flash(_("Removed from the staff."), "success")
    return redirect(url_for(".unit_staff", unit_id=unit.id))


# ---------------------------------------------------------------- the user's own units


@bp.get("/mine")
@login_required
def my_units():
    rows = db.session.execute(
        select(Unit, UnitStaff.role)
        .join(UnitStaff, UnitStaff.unit_id == Unit.id)
        .where(UnitStaff.user_id == current_user.id)
        .order_by(Unit.name)
    ).all()
    return render_template("registry/mine.html", memberships=rows, applications=services.applications_by(current_user))


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register():
    province = request.args.get("province", type=int)
    if province is not None and not places.is_province(province):
        province = None
    form = RegisterUnitForm()
    form.ward_code.choices = ward_choices(province, _("Choose a ward or commune"))
    if province is not None and form.validate_on_submit():
        data = {name: form[name].data for name in services.REGISTER_FIELDS if name in form}
        data.update(province_code=province, message=form.message.data)
        try:
            services.register_unit(actor=current_user, data=data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "name")
        except IntegrityError:
            # Someone registered the same code a moment ago.
            db.session.rollback()
            form.registration_code.errors = [_("A unit with this registration code is already in the registry.")]
        else:
            flash(_("Your registration was sent to the province. You will see its decision here."), "success")
            return redirect(url_for(".my_units"))
    return render_template(
        "registry/register.html", form=form, province=province, provinces=places.provinces()
    ), form_status()


@bp.route("/claim", methods=["GET", "POST"])
@login_required
def claim():
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            services.claim_unit(
                actor=current_user, registration_code=form.registration_code.data, message=form.message.data
            )
        except ServiceError as exc:
            db.session.rollback()
            field_error(form, exc, "registration_code")
        else:
            db.session.commit()
            flash(_("Your claim was sent to the province. You will see its decision here."), "success")
            return redirect(url_for(".my_units"))
    return render_template("registry/claim.html", form=form), form_status()


# ---------------------------------------------------------------- applications


@bp.get("/applications")
@officer_required
def applications():
    scope = province_scope(current_user)
    status = _enum_arg(ApplicationStatus, request.args.get("status"))
    page = db.paginate(
        services.application_queue(scope, status),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("registry/applications.html", page=page, status=status, scope=scope)


def _application_or_404(application_id: int) -> UnitApplication:
    application = db.session.get(UnitApplication, application_id)
    if application is None:
        abort(404)
    officer_unit_or_404(application.unit_id, current_user)
    return application


def _application_page(application: UnitApplication, form: RejectForm, status: int = 200):
    return render_template("registry/application.html", application=application, form=form), status


@bp.get("/applications/<int:application_id>")
@officer_required
def application(application_id: int):
    return _application_page(_application_or_404(application_id), RejectForm())


@bp.post("/applications/<int:application_id>/approve")
@officer_required
def approve(application_id: int):
    application = _application_or_404(application_id)
    try:
        services.approve_application(application, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _application_page(application, RejectForm(), 422)
    db.session.commit()
    flash(_("Approved: %(name)s is on the platform.", name=application.unit.name), "success")
    return redirect(url_for(".applications"))


@bp.post("/applications/<int:application_id>/reject")
@officer_required
def reject(application_id: int):
    application = _application_or_404(application_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject_application(application, actor=current_user, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            if exc.field == "reason":
                field_error(form, exc, "reason")
            else:
                flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Rejected. The applicant will see your reason."), "success")
            return redirect(url_for(".applications"))
    return _application_page(application, form, 422)


# ---------------------------------------------------------------- registry import


_uploads = PendingUploads("imports")


def _stored_import(token: str) -> tuple[bytes, str]:
    """The file this officer uploaded under `token`, and its name; 404 for anyone else's or a forgotten one."""
    stored = _uploads.load(token, user_id=current_user.id)
    if stored is None:
        abort(404)
    return stored


@bp.route("/import", methods=["GET", "POST"])
@officer_required
def import_upload():
    form = ImportForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            read_sheet(data)
        except SpreadsheetError:
            form.file.errors = [_("This file cannot be read. Upload a UTF-8 CSV or an XLSX file.")]
        else:
            token = _uploads.save(data, filename=form.file.data.filename or "", user_id=current_user.id)
            return redirect(url_for(".import_preview", token=token))
    return render_template(
        "registry/import.html", form=form, columns=importing.COLUMNS, scope=province_scope(current_user)
    ), form_status()


def _preview(token: str, filename: str, plan: importing.ImportPlan, status: int = 200):
    return render_template(
        "registry/import_preview.html",
        token=token,
        plan=plan,
        filename=filename,
        changes=plan.rows[:PREVIEW_CHANGES],
        errors=plan.errors[:PREVIEW_ERRORS],
        display=importing.display_value,
        column=importing.column_name,
    ), status


@bp.get("/import/<token>")
@officer_required
def import_preview(token: str):
    data, filename = _stored_import(token)
    plan = importing.plan_import(data, actor=current_user)
    return _preview(token, filename, plan)


@bp.post("/import/<token>/confirm")
@officer_required
def import_confirm(token: str):
    data, filename = _stored_import(token)
    # The registry may have changed since the preview: plan again from the stored file.
    plan = importing.plan_import(data, actor=current_user)
    if not plan.ok:
        flash(_("The file has errors; nothing was imported."), "error")
        return _preview(token, filename, plan, 422)
    try:
        importing.apply_import(plan, actor=current_user, source=filename)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        flash(_("The registry changed while you were importing. Check the preview again."), "error")
        return redirect(url_for(".import_preview", token=token))
    _uploads.discard(token)
    flash(_("Import done: %(summary)s.", summary=plan.summary()), "success")
    return redirect(url_for(".index"))


@bp.post("/import/<token>/cancel")
@officer_required
def import_cancel(token: str):
    _stored_import(token)
    _uploads.discard(token)
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for(".import_upload"))
