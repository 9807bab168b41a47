"""Classification pages: rubric versions (admin), self-assessment (unit staff), review and movement (officers)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..accounts.models import Role
from ..core import places
from ..core.access import admin_required, officer_required
from ..core.errors import ServiceError
from ..core.formtools import field_error
from ..core.i18n import local_today
from ..core.spreadsheets import SpreadsheetError, read_sheet
from ..extensions import db
from ..registry.access import officer_covers, province_scope, staff_unit_or_404, units_of
from . import importing, services
from .eligibility import eligibility
from .forms import (
    BLANK_CRITERIA,
    AssessmentFilterForm,
    ImportForm,
    ReturnForm,
    RubricForm,
    YearForm,
    review_form,
    self_assessment_form,
)
from .models import Assessment, AssessmentStatus, Grade, Rubric

bp = Blueprint("classification", __name__, url_prefix="/classification")

PAGE_SIZE = 100


@bp.context_processor
def _labels():
    return {
        "grade_labels": services.GRADE_LABELS,
        "status_labels": services.STATUS_LABELS,
        "AssessmentStatus": AssessmentStatus,
    }


def _status() -> int:
    return 200 if request.method == "GET" else 422


def _officer_assessment_or_404(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not officer_covers(current_user, assessment.unit):
        abort(404)
    return assessment


def _rubric_or_404(rubric_id: int) -> Rubric:
    return db.session.get(Rubric, rubric_id) or abort(404)


# ---------------------------------------------------------------- entry point


@bp.get("/")
@login_required
def index():
    """Officers go to the year's list; cooperative staff see their units' assessments."""
    if current_user.role in (Role.OFFICER, Role.ADMIN):
        return redirect(url_for(".assessments"))
    years = services.assessable_years(local_today())
    rows = []
    for unit in units_of(current_user):
        by_year = {a.year: a for a in services.unit_assessments(unit)}
        rows.append((unit, [(y, by_year.get(y), eligibility(unit, y)) for y in years]))
    return render_template("classification/mine.html", rows=rows, years=years)


# ---------------------------------------------------------------- rubric versions


@bp.get("/rubrics/")
@officer_required
def rubrics():
    return render_template("classification/rubrics.html", rubrics=services.list_rubrics(), total=services.rubric_total)


@bp.get("/rubrics/<int:rubric_id>")
@officer_required
def rubric(rubric_id: int):
    item = _rubric_or_404(rubric_id)
    return render_template("classification/rubric.html", rubric=item, total=services.rubric_total(item))


@bp.route("/rubrics/new", methods=["GET", "POST"])
@admin_required
def new_rubric():
    form = RubricForm()
    source = None
    if request.method == "GET":
        versions = services.list_rubrics()
        source = db.session.get(Rubric, request.args.get("from", type=int) or 0) or (versions[0] if versions else None)
        if source is not None:
            form.good_min.data, form.fair_min.data = source.good_min, source.fair_min
            form.average_min.data = source.average_min
            form.first_year.data = max(local_today().year, source.first_year + 1)
            form.criteria.pop_entry()
            for c in source.criteria:
                form.criteria.append_entry(
                    {"group": c.group, "code": c.code, "label": c.label, "max_points": c.max_points}
                )
        for _i in range(BLANK_CRITERIA):
            form.criteria.append_entry()
    general_error = None
    if form.validate_on_submit():
        data = services.RubricData(
            code=form.code.data,
            name=form.name.data,
            first_year=form.first_year.data,
            good_min=form.good_min.data,
            fair_min=form.fair_min.data,
            average_min=form.average_min.data,
            criteria=[
                services.CriterionData(
                    group=(e.form.group.data or "").strip(),
                    code=(e.form.code.data or "").strip(),
                    label=(e.form.label.data or "").strip(),
                    max_points=e.form.max_points.data,
                )
                for e in form.criteria
            ],
        )
        try:
            item = services.add_rubric(data, actor=current_user)
        except ServiceError as exc:
            db.session.rollback()
            if exc.field == "criteria":
                general_error = exc.message
            else:
                field_error(form, exc, "code")
        else:
            db.session.commit()
            flash(_("Rubric version %(code)s added.", code=item.code), "success")
            return redirect(url_for(".rubric", rubric_id=item.id))
    elif request.method == "POST" and form.criteria.errors:
        general_error = _("Correct the criteria marked below.")
    entered = sum(e.form.max_points.data or 0 for e in form.criteria if isinstance(e.form.max_points.data, int))
    return render_template(
        "classification/rubric_new.html", form=form, source=source, entered=entered, general_error=general_error
    ), _status()


# ---------------------------------------------------------------- self-assessment (unit staff)


def _staff_year(unit_id: int, year: int):
    unit = staff_unit_or_404(unit_id, current_user)
    if year not in services.assessable_years(local_today()) and services.assessment_for(unit, year) is None:
        abort(404)
    return unit


@bp.post("/units/<int:unit_id>/<int:year>/open")
@login_required
def open_assessment(unit_id: int, year: int):
    unit = _staff_year(unit_id, year)
    try:
        services.open_assessment(unit, year, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return redirect(url_for(".self_assessment", unit_id=unit.id, year=year))


@bp.route("/units/<int:unit_id>/<int:year>", methods=["GET", "POST"])
@login_required
def self_assessment(unit_id: int, year: int):
    unit = _staff_year(unit_id, year)
    assessment = services.assessment_for(unit, year)
    if assessment is None:
        abort(404)
    editable = assessment.status is AssessmentStatus.DRAFT
    form = self_assessment_form(assessment)
    if request.method == "GET":
        for score in assessment.scores:
            getattr(form, f"c{score.criterion_id}").data = score.self_points
    if request.method == "POST":
        if not editable:
            flash(_("This assessment was already submitted: it can no longer be changed."), "error")
            return redirect(url_for(".self_assessment", unit_id=unit.id, year=year))
        if form.validate_on_submit():
            points = {s.criterion_id: getattr(form, f"c{s.criterion_id}").data for s in assessment.scores}
            submit = "submit" in request.form
            try:
                services.save_self_assessment(assessment, points, actor=current_user, submit=submit)
            except ServiceError as exc:
                db.session.rollback()
                assessment = services.assessment_for(unit, year)
                field_error(form, exc, f"c{assessment.scores[0].criterion_id}")
            else:
                db.session.commit()
                flash(_("Sent to the province for review.") if submit else _("Draft saved."), "success")
                return redirect(url_for(".self_assessment", unit_id=unit.id, year=year))
    return render_template(
        "classification/self_assessment.html",
        unit=unit,
        assessment=assessment,
        form=form,
        editable=editable,
        groups=_groups(assessment),
        total=services.rubric_total(assessment.rubric),
    ), _status()


def _groups(assessment: Assessment) -> list[tuple[str, list]]:
    """The criterion scores grouped as the rubric groups them, in order."""
    groups: list[tuple[str, list]] = []
    for score in sorted(assessment.scores, key=lambda s: (s.criterion.position, s.criterion_id)):
        if not groups or groups[-1][0] != score.criterion.group:
            groups.append((score.criterion.group, []))
        groups[-1][1].append(score)
    return groups


# ---------------------------------------------------------------- officers


@bp.get("/assessments/")
@officer_required
def assessments():
    scope = province_scope(current_user)
    today = local_today()
    years = services.years_with_assessments(today.year)
    form = AssessmentFilterForm(formdata=request.args)
    form.set_choices(years, scope)
    if not form.validate():
        form = AssessmentFilterForm(formdata=None)
        form.set_choices(years, scope)
    # Optional() passes a blank value ("\x1f" is blank to str.strip) without checking it against the choices.
    year = int(form.year.data) if (form.year.data or "").strip() else today.year
    form.year.data = str(year)
    query = services.assessments_query(
        scope,
        year,
        status=AssessmentStatus(form.status.data) if form.status.data else None,
        grade=Grade(form.grade.data) if form.grade.data else None,
        ward_code=int(form.ward.data) if form.ward.data else None,
    )
    rows = db.session.execute(query.limit(PAGE_SIZE + 1)).all()
    return render_template(
        "classification/assessments.html",
        form=form,
        year=year,
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        counts=services.status_counts(scope, year),
        grades=services.grade_counts(scope, year),
        ward_name=places.ward_name,
        import_form=ImportForm(),
    )


@bp.route("/assessments/<int:assessment_id>", methods=["GET", "POST"])
@officer_required
def review(assessment_id: int):
    assessment = _officer_assessment_or_404(assessment_id)
    editable = assessment.status is AssessmentStatus.SUBMITTED
    form = review_form(assessment)
    if request.method == "GET":
        form.comment.data = assessment.comment
        for s in assessment.scores:
            # Start from the cooperative's own points: the officer changes only what they disagree with.
            getattr(form, f"p{s.criterion_id}").data = s.points if s.points is not None else s.self_points
            getattr(form, f"m{s.criterion_id}").data = s.comment
    if request.method == "POST":
        if not editable:
            flash(_("Only a submitted assessment can be reviewed."), "error")
            return redirect(url_for(".review", assessment_id=assessment.id))
        if form.validate_on_submit():
            entries = {
                s.criterion_id: services.ReviewEntry(
                    getattr(form, f"p{s.criterion_id}").data, getattr(form, f"m{s.criterion_id}").data
                )
                for s in assessment.scores
            }
            finalise = "finalise" in request.form
            try:
                services.review_assessment(
                    assessment, entries, actor=current_user, comment=form.comment.data, finalise=finalise
                )
            except ServiceError as exc:
                db.session.rollback()
                assessment = _officer_assessment_or_404(assessment_id)
                field_error(form, exc, "comment")
            else:
                db.session.commit()
                if finalise:
                    flash(
                        _(
                            "Finalised: %(score)d points, %(grade)s.",
                            score=assessment.score,
                            grade=services.GRADE_LABELS[assessment.grade],
                        ),
                        "success",
                    )
                else:
                    flash(_("Review saved."), "success")
                return redirect(url_for(".review", assessment_id=assessment.id))
    return render_template(
        "classification/review.html",
        assessment=assessment,
        unit=assessment.unit,
        form=form,
        return_form=ReturnForm(formdata=None),
        editable=editable,
        groups=_groups(assessment),
        total=services.rubric_total(assessment.rubric),
    ), _status()


@bp.post("/assessments/<int:assessment_id>/return")
@officer_required
def return_assessment(assessment_id: int):
    assessment = _officer_assessment_or_404(assessment_id)
    form = ReturnForm()
    if form.validate_on_submit():
        try:
            services.return_assessment(assessment, actor=current_user, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            assessment = _officer_assessment_or_404(assessment_id)
            field_error(form, exc, "reason")
        else:
            db.session.commit()
            flash(_("Sent back to the cooperative."), "success")
            return redirect(url_for(".review", assessment_id=assessment.id))
    return render_template(
        "classification/review.html",
        assessment=assessment,
        unit=assessment.unit,
        form=review_form(assessment, formdata=None),
        return_form=form,
        editable=assessment.status is AssessmentStatus.SUBMITTED,
        groups=_groups(assessment),
        total=services.rubric_total(assessment.rubric),
    ), 422


@bp.post("/assessments/<int:assessment_id>/reopen")
@admin_required
def reopen(assessment_id: int):
    assessment = _officer_assessment_or_404(assessment_id)
    try:
        services.reopen_assessment(assessment, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("Reopened for review."), "success")
    return redirect(url_for(".review", assessment_id=assessment_id))


@bp.post("/import")
@officer_required
def import_results():
    """Import past results for the officer's province (all rows or none)."""
    form = ImportForm()
    errors: list[importing.RowError] = []
    if form.validate_on_submit():
        try:
            sheet = read_sheet(form.file.data.read())
        except SpreadsheetError:
            form.file.errors = [_("This file cannot be read. Upload a UTF-8 CSV or an XLSX file.")]
        else:
            plan = importing.plan_import(sheet, province_code=province_scope(current_user))
            if plan.ok:
                importing.apply_import(plan, actor=current_user, source=form.file.data.filename or "")
                db.session.commit()
                flash(_("Import done: %(summary)s.", summary=plan.summary()), "success")
                return redirect(url_for(".assessments"))
            errors = plan.errors
    return render_template(
        "classification/import_errors.html", form=form, errors=errors, columns=importing.COLUMNS
    ), 422


# ---------------------------------------------------------------- movement


@bp.get("/movement")
@officer_required
def movement():
    scope = province_scope(current_user)
    today = local_today()
    years = services.years_with_assessments(today.year)
    form = YearForm(formdata=request.args)
    form.year.choices = [SelectChoice(str(y), str(y)) for y in years]
    year = int(form.year.data) if form.validate() and (form.year.data or "").strip() else years[0]
    form.year.data = str(year)
    return render_template(
        "classification/movement.html",
        form=form,
        year=year,
        matrix=services.movement(scope, year),
        keys=services.MOVEMENT_KEYS,
        province=places.province_name(scope) if scope else None,
    )
