"""The annual report pages: /reports/annual, and the same report as XLSX and JSON."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, Response, abort, render_template, request, send_file
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..core import places
from ..core.access import officer_required
from ..core.i18n import local_today
from ..registry.access import province_scope
from . import report as reports
from .report_forms import AnnualReportForm

bp = Blueprint("reports", __name__, url_prefix="/reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choice() -> tuple[AnnualReportForm, int | None, bool]:
    """Read year and province from the query: (form, province, valid); an officer's province is their own."""
    today = local_today()
    args = MultiDict(request.args)
    # Last year's report by default: the current year is not over.
    args.setdefault("year", str(today.year - 1))
    form = AnnualReportForm(args)
    form.set_choices(today.year)
    scope = province_scope(current_user)
    asked = request.args.get("province", "")
    if scope is not None:
        # An officer reads their own province only: asking for another is asking for nothing there is.
        if asked and asked != str(scope):
            abort(404)
        form.province.data = str(scope)
        return form, scope, form.year.validate(form)
    if asked and not (asked.isascii() and asked.isdigit() and len(asked) <= 9 and places.is_province(int(asked))):
        abort(404)
    return form, int(asked) if asked else None, form.validate()


@bp.get("/annual")
@officer_required
def annual():
    form, province, valid = _choice()
    scope = province_scope(current_user)
    if not valid:
        return render_template("province/report.html", form=form, scope=scope, details=None), 422
    year = form.year.data
    details = reports.report_details(province, year)
    return render_template(
        "province/report.html",
        form=form,
        scope=scope,
        details=details,
        title=reports.report_title(province, year),
        links=True,
        download_args={"year": year, **({"province": province} if province is not None else {})},
        **_helpers(),
    )


@bp.get("/annual.xlsx")
@officer_required
def annual_xlsx():
    form, province, valid = _choice()
    if not valid:
        abort(404)
    details = reports.report_details(province, form.year.data)
    return send_file(
        BytesIO(reports.report_workbook(details)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=report_filename(province, form.year.data, "xlsx"),
        max_age=0,
    )


@bp.get("/annual.json")
@officer_required
def annual_json():
    form, province, valid = _choice()
    if not valid:
        abort(404)
    body = reports.report_json(reports.annual_report(province, form.year.data))
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{report_filename(province, form.year.data, "json")}"'
    )
    return response


def report_filename(province: int | None, year: int, ext: str) -> str:
    """Name a download: bao-cao-ktt-2024-86.xlsx (or -toan-quoc for the whole country)."""
    return f"bao-cao-ktt-{year}-{province if province is not None else 'toan-quoc'}.{ext}"


def _helpers() -> dict:
    return {
        "CHECK_TITLES": reports.CHECK_TITLES,
        "GRADE_LABELS": reports.GRADE_LABELS,
        "finding_detail": reports.finding_detail,
        "pct": reports.format_percent,
    }
