"""Support program pages: the officer's programs and applications, and a cooperative's programs."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import Role
from ..core import places
from ..core.access import officer_required
from ..core.errors import ServiceError
from ..core.formtools import field_error, form_status
from ..core.i18n import local_today
from ..extensions import db
from ..registry.access import officer_covers, province_scope, staff_role, staff_unit_or_404
from ..registry.forms import KIND_LABELS, SECTOR_LABELS, province_choices
from . import services, tasks
from .eligibility import Rules, eligible_units, reachable
from .forms import (
    FUNDING_LABELS,
    GRADE_LABELS,
    PROGRAM_KIND_LABELS,
    ApplyForm,
    DecisionForm,
    DisbursementForm,
    OutcomeForm,
    ProgramForm,
)
from .models import ApplicationDocument, ApplicationStatus, ProgramApplication, ProgramStatus, SupportProgram

bp = Blueprint("programs", __name__, url_prefix="/programs")

PREVIEW_LIMIT = 500


@bp.context_processor
def _labels() -> dict:
    return {
        "PROGRAM_KIND_LABELS": PROGRAM_KIND_LABELS,
        "FUNDING_LABELS": FUNDING_LABELS,
        "GRADE_LABELS": GRADE_LABELS,
        "UNIT_KIND_LABELS": KIND_LABELS,
        "UNIT_SECTOR_LABELS": SECTOR_LABELS,
        "PROGRAM_STATUS_LABELS": {
            ProgramStatus.DRAFT: _("Draft"),
            # "Open" is also a button elsewhere; as a program's state it reads "open for applications".
            ProgramStatus.OPEN: pgettext("program status", "Open"),
            ProgramStatus.CLOSED: _("Closed"),
        },
        "PROGRAM_APPLICATION_LABELS": {
            ApplicationStatus.SUBMITTED: _("Waiting for a decision"),
            ApplicationStatus.APPROVED: _("Approved"),
            ApplicationStatus.REJECTED: _("Rejected"),
            ApplicationStatus.WITHDRAWN: _("Withdrawn"),
        },
        "province_name": places.province_name,
        "ward_name": places.ward_name,
    }


# ---------------------------------------------------------------- loading with access


def _covers_province(province_code: int) -> bool:
    scope = province_scope(current_user)  # 403 for anyone but officers and admins
    return scope is None or scope == province_code


def _program_or_404(program_id: int) -> SupportProgram:
    """The program, for an officer of its province or an admin; else 404."""
    program = db.session.get(SupportProgram, program_id)
    if program is None or not _covers_province(program.province_code):
        abort(404)
    return program


def _application_or_404(application_id: int) -> ProgramApplication:
    application = db.session.get(ProgramApplication, application_id)
    if application is None or not _covers_province(application.program.province_code):
        abort(404)
    return application


# ---------------------------------------------------------------- officers: programs


@bp.get("/")
@officer_required
def index():
    scope = province_scope(current_user)
    year = request.args.get("year", type=int)
    if year is not None and not 1900 <= year <= 9999:
        year = None  # a year the database's INTEGER cannot hold lists nothing anyway: show every year
    programs = services.programs_of(scope, year=year)
    return render_template("programs/index.html", programs=programs, scope=scope, year=year)


def _form_values(form: ProgramForm) -> dict:
    rules = Rules.parse(
        {
            "kinds": form.kinds.data or [],
            "sectors": form.sectors.data or [],
            "ward_codes": form.wards.data or [],
            "grades": form.grades.data or [],
            "min_members": form.min_members.data,
            "on_platform": form.on_platform.data,
        }
    )
    return {
        "kind": form.kind.data,
        "title": form.title.data,
        "description": form.description.data,
        "budget_vnd": form.budget_vnd.data,
        "funding_source": form.funding_source.data,
        "year": form.year.data,
        "opens_on": form.opens_on.data,
        "closes_on": form.closes_on.data,
        "rules": rules,
    }


def _set_ward_choices(form: ProgramForm, province_code: int | None) -> None:
    from wtforms import SelectChoice

    wards = places.wards_of(province_code).items() if province_code else ()
    form.wards.choices = [SelectChoice(str(code), name) for code, name in wards]


def _fill_rules(form: ProgramForm, program: SupportProgram) -> None:
    rules = Rules.parse(program.eligibility)
    form.kinds.data = [str(k) for k in rules.kinds]
    form.sectors.data = [str(s) for s in rules.sectors]
    form.wards.data = [str(w) for w in rules.ward_codes]
    form.grades.data = [str(g) for g in rules.grades]
    form.min_members.data = rules.min_members
    form.on_platform.data = rules.on_platform


@bp.route("/new", methods=["GET", "POST"])
@officer_required
def new():
    scope = province_scope(current_user)
    form = ProgramForm()
    form.province.choices = province_choices(_("Choose a province"))
    if request.method == "GET":
        form.year.data = local_today().year
    province = scope
    if scope is None:
        province = int(form.province.data) if (form.province.data or "").isdigit() else None
        if province is not None and not places.is_province(province):
            province = None
    _set_ward_choices(form, province)
    if form.validate_on_submit():
        if province is None:
            form.province.errors = [*form.province.errors, _("Choose a province.")]
        else:
            try:
                program = services.create_program(actor=current_user, province_code=province, **_form_values(form))
            except ServiceError as exc:
                field_error(form, exc, "title")
            else:
                db.session.commit()
                flash(_("The program is saved as a draft. Check who is eligible, then open it."), "success")
                return redirect(url_for(".program", program_id=program.id))
    return render_template("programs/edit.html", form=form, program=None, scope=scope), form_status()


@bp.route("/<int:program_id>/edit", methods=["GET", "POST"])
@officer_required
def edit(program_id: int):
    program = _program_or_404(program_id)
    if program.status is not ProgramStatus.DRAFT:
        flash(_("Only a draft program can be edited."), "error")
        return redirect(url_for(".program", program_id=program.id))
    form = ProgramForm(obj=program)
    form.province.choices = province_choices()
    _set_ward_choices(form, program.province_code)
    if request.method == "GET":
        form.kind.data = str(program.kind)
        form.funding_source.data = str(program.funding_source)
        _fill_rules(form, program)
    if form.validate_on_submit():
        try:
            services.update_program(program, actor=current_user, **_form_values(form))
        except ServiceError as exc:
            field_error(form, exc, "title")
        else:
            db.session.commit()
            flash(_("The program is saved."), "success")
            return redirect(url_for(".program", program_id=program.id))
    return render_template("programs/edit.html", form=form, program=program, scope=program.province_code), (
        form_status()
    )


@bp.get("/<int:program_id>")
@officer_required
def program(program_id: int):
    program = _program_or_404(program_id)
    eligible = eligible_units(program)
    applications = list(
        db.session.scalars(
            select(ProgramApplication)
            .where(ProgramApplication.program_id == program.id)
            .order_by(ProgramApplication.created_at, ProgramApplication.id)
        )
    )
    return render_template(
        "programs/program.html",
        program=program,
        rules=Rules.parse(program.eligibility),
        eligible=eligible[:PREVIEW_LIMIT],
        eligible_count=len(eligible),
        unreachable_count=sum(1 for u in eligible if not reachable(u)),
        reachable=reachable,
        applications=applications,
        reach=services.program_reach(program),
    )


@bp.post("/<int:program_id>/open")
@officer_required
def open_program(program_id: int):
    program = _program_or_404(program_id)
    try:
        services.open_program(program, actor=current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".program", program_id=program.id))
    db.session.commit()
    tasks.queue_notify(program.id)
    flash(_("The program is open: eligible cooperatives are being notified."), "success")
    return redirect(url_for(".program", program_id=program.id))


@bp.post("/<int:program_id>/close")
@officer_required
def close_program(program_id: int):
    program = _program_or_404(program_id)
    try:
        services.close_program(program, actor=current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".program", program_id=program.id))
    db.session.commit()
    flash(_("The program is closed."), "success")
    return redirect(url_for(".program", program_id=program.id))


# ---------------------------------------------------------------- officers: applications


def _render_application(application, *, decision=None, disbursement=None, outcome=None, status=200):
    return render_template(
        "programs/application.html",
        application=application,
        program=application.program,
        decision_form=decision or DecisionForm(formdata=None),
        disbursement_form=disbursement or DisbursementForm(formdata=None, disbursed_on=local_today()),
        outcome_form=outcome or OutcomeForm(formdata=None, outcome=application.outcome),
        disbursed=services.disbursed_total(application.program),
    ), status


@bp.get("/applications/<int:application_id>")
@officer_required
def application(application_id: int):
    return _render_application(_application_or_404(application_id))


@bp.post("/applications/<int:application_id>/decide")
@officer_required
def decide(application_id: int):
    application = _application_or_404(application_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide(
                application, actor=current_user, approve=form.decision.data == "approve", reason=form.reason.data
            )
        except ServiceError as exc:
            field_error(form, exc, "decision")
        else:
            db.session.commit()
            flash(_("The decision is recorded."), "success")
            return redirect(url_for(".application", application_id=application.id))
    return _render_application(application, decision=form, status=422)


@bp.post("/applications/<int:application_id>/disburse")
@officer_required
def disburse(application_id: int):
    application = _application_or_404(application_id)
    form = DisbursementForm()
    if form.validate_on_submit():
        try:
            services.record_disbursement(
                application,
                actor=current_user,
                amount_vnd=form.amount_vnd.data,
                disbursed_on=form.disbursed_on.data,
                note=form.note.data,
            )
        except ServiceError as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            field_error(form, exc, "amount_vnd")
        else:
            db.session.commit()
            flash(_("The disbursement is recorded."), "success")
            return redirect(url_for(".application", application_id=application.id))
    return _render_application(application, disbursement=form, status=422)


@bp.post("/applications/<int:application_id>/outcome")
@officer_required
def outcome(application_id: int):
    application = _application_or_404(application_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            services.record_outcome(application, actor=current_user, outcome=form.outcome.data)
        except ServiceError as exc:
            field_error(form, exc, "outcome")
        else:
            db.session.commit()
            flash(_("The outcome is recorded."), "success")
            return redirect(url_for(".application", application_id=application.id))
    return _render_application(application, outcome=form, status=422)


# ---------------------------------------------------------------- cooperatives


@bp.get("/unit/<int:unit_id>")
@login_required
def unit_programs(unit_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    applications = services.applications_of_unit(unit)
    applied = {a.program_id: a for a in applications}
    programs = services.open_programs_for(unit)
    return render_template(
        "programs/unit.html", unit=unit, programs=programs, applied=applied, applications=applications
    )


def _unit_program_or_404(unit, program_id: int) -> SupportProgram:
    """An open program of the unit's province that the unit is eligible for (or applied to); else 404."""
    program = db.session.get(SupportProgram, program_id)
    if program is None or program.province_code != unit.province_code or program.status is ProgramStatus.DRAFT:
        abort(404)
    if program not in services.open_programs_for(unit):
        abort(404)
    return program


@bp.route("/unit/<int:unit_id>/<int:program_id>/apply", methods=["GET", "POST"])
@login_required
def apply(unit_id: int, program_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    program = _unit_program_or_404(unit, program_id)
    form = ApplyForm()
    if form.validate_on_submit():
        uploads = [
            services.Upload(f.filename or "", f.read())
            for f in request.files.getlist(form.documents.name)
            if f and f.filename
        ]
        try:
            services.apply(program, unit, actor=current_user, message=form.message.data, documents=uploads)
        except ServiceError as exc:
            db.session.rollback()
            unit = staff_unit_or_404(unit_id, current_user)
            program = db.session.get(SupportProgram, program_id)
            field_error(form, exc, "message")
        else:
            db.session.commit()
            flash(_("Your application is sent to the province."), "success")
            return redirect(url_for(".unit_programs", unit_id=unit.id))
    return render_template(
        "programs/apply.html",
        form=form,
        unit=unit,
        program=program,
        rules=Rules.parse(program.eligibility),
        max_mb=services.max_document_bytes() // (1024 * 1024),
        max_documents=services.MAX_DOCUMENTS,
    ), form_status()


@bp.post("/unit/<int:unit_id>/applications/<int:application_id>/withdraw")
@login_required
def withdraw(unit_id: int, application_id: int):
    unit = staff_unit_or_404(unit_id, current_user)
    application = db.session.get(ProgramApplication, application_id)
    if application is None or application.unit_id != unit.id:
        abort(404)
    try:
        services.withdraw(application, actor=current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Your application is withdrawn."), "success")
    return redirect(url_for(".unit_programs", unit_id=unit.id))


# ---------------------------------------------------------------- documents


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    """Send a document to the unit's staff or an officer of the program's province; else 404."""
    document = db.session.get(ApplicationDocument, document_id)
    if document is None:
        abort(404)
    application = document.application
    unit = application.unit
    allowed = staff_role(current_user, unit.id) is not None
    if not allowed and current_user.role in (Role.OFFICER, Role.ADMIN):
        allowed = officer_covers(current_user, unit) and _covers_province(application.program.province_code)
    if not allowed:
        abort(404)
    try:
        data = services.document_bytes(document)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        BytesIO(data), mimetype=document.content_type, as_attachment=True, download_name=document.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
