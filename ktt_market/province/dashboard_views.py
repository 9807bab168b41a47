"""Dashboard pages: the participation dashboard, the units behind each figure, and ratings per cooperative."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
from wtforms.validators import Optional

from ..accounts.models import Role
from ..classification.models import Grade
from ..core import places
from ..core.access import officer_required
from ..core.charts import bar_chart, column_chart, line_chart
from ..core.i18n import local_today, number, vnd
from ..extensions import db
from ..registry.access import officer_unit_or_404
from ..registry.forms import KIND_LABELS, SECTOR_LABELS, province_choices, ward_choices
from ..registry.models import Sector, UnitKind
from . import ratings as ratings_mod
from .dashboard import METRICS, Scope, dashboard, units_query

bp = Blueprint("dashboard", __name__, url_prefix="/province")

PER_PAGE = 50
FIRST_YEAR = 2000
TOP_PLACES = 10
GRADE_LABELS = {Grade.GOOD: _l("Good"), Grade.FAIR: _l("Fair"), Grade.AVERAGE: _l("Average"), Grade.WEAK: _l("Weak")}


class DashboardFilterForm(FlaskForm):
    """The dashboard's filters, sent by GET."""

    class Meta:
        csrf = False

    province = SelectField(_l("Province"), validators=[Optional()])
    year = SelectField(_l("Year"), validators=[Optional()])
    ward = SelectField(_l("Ward or commune"), validators=[Optional()])


class RatingsFilterForm(FlaskForm):
    """The ratings list's filters, sent by GET."""

    class Meta:
        csrf = False

    province = SelectField(_l("Province"), validators=[Optional()])
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("rating", _l("Rating (best first)")),
            SelectChoice("cancellations", _l("Cancellation rate (highest first)")),
            SelectChoice("complaints", _l("Complaint rate (highest first)")),
            SelectChoice("name", _l("Name")),
        ],
        validators=[Optional()],
    )


@bp.app_context_processor
def _labels() -> dict:
    return {"GRADE_LABELS": GRADE_LABELS}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    # isascii and the length: "²" passes isdigit() and int() refuses thousands of digits, both would be a 500.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _province() -> int | None:
    """The province asked for: an officer's own (another one is a 404); an admin's choice, None for all."""
    asked = request.args.get("province", "")
    if current_user.role is Role.OFFICER:
        if asked and asked != str(current_user.province_code):
            abort(404)
        return current_user.province_code
    if not asked:
        return None
    if not (asked.isascii() and asked.isdigit() and len(asked) <= 9) or not places.is_province(int(asked)):
        abort(404)
    return int(asked)


def _scope() -> Scope:
    """Read province, year and ward from the query string (anything out of reach is a 404)."""
    today = local_today()
    province = _province()
    year = _int_arg("year") or today.year
    if not FIRST_YEAR <= year <= today.year:
        year = today.year
    ward = _int_arg("ward")
    if ward is not None and (province is None or places.ward_province(ward) != province):
        abort(404)
    return Scope(province=province, year=year, today=today, ward=ward)


def _scope_args(scope: Scope) -> dict:
    """The query-string arguments that keep `scope` in links."""
    args: dict = {"year": scope.year}
    if current_user.role is Role.ADMIN and scope.province is not None:
        args["province"] = scope.province
    if scope.ward is not None:
        args["ward"] = scope.ward
    return args


def _filter_form(scope: Scope) -> DashboardFilterForm:
    form = DashboardFilterForm(request.args)
    form.province.choices = province_choices(_("The whole country"))
    form.year.choices = [SelectChoice(str(y), str(y)) for y in range(scope.today.year, FIRST_YEAR - 1, -1)]
    form.year.data = str(scope.year)
    form.ward.choices = ward_choices(scope.province, _("All"))
    return form


def _place_name(scope: Scope, code: int) -> str:
    return places.ward_name(code) if scope.province is not None else places.province_name(code)


def _charts(scope: Scope, figures: dict) -> dict:
    """The dashboard's SVG charts; the page puts a table of the same figures after each."""
    count = lambda v: number(int(v))  # noqa: E731
    money = lambda v: vnd(int(v))  # noqa: E731
    reg = figures["registry"]
    top = figures["by_place"][:TOP_PLACES]
    grades = figures["classification"]["current"]
    where = _("wards") if scope.province is not None else _("provinces")
    return {
        "kind": bar_chart(
            [(k.value, reg["by_kind"][k]["units"]) for k in UnitKind],
            title=_("Units by kind, %(day)s", day=scope.day.strftime("%d/%m/%Y")),
            fmt=count,
        ),
        "sector": bar_chart(
            [(str(SECTOR_LABELS[s]), reg["by_sector"][s]) for s in Sector],
            title=_("Units by sector"),
            fmt=count,
        ),
        "place": bar_chart(
            [(_place_name(scope, code), n) for code, n in top],
            title=_("Units in the %(n)d %(where)s with the most units", n=len(top), where=where),
            fmt=count,
        ),
        "sales_place": bar_chart(
            [(_place_name(scope, code), total) for code, total, _u, _o in figures["sales"]["by_place"][:TOP_PLACES]],
            title=_("Sales in %(year)d by %(where)s", year=scope.year, where=where),
            fmt=money,
        ),
        "sales_month": column_chart(
            [(f"{m:02d}", total) for m, total, _u in figures["sales"]["by_month"]],
            title=_("Sales in %(year)d by month", year=scope.year),
            fmt=money,
        ),
        "grades": bar_chart(
            [(str(GRADE_LABELS[g]), grades[g]) for g in Grade],
            title=_("Classification %(year)d: units by grade", year=scope.year),
            fmt=count,
        ),
    }


@bp.get("/")
@officer_required
def hub():
    """The officers' and admins' start page: every tool of province administration, grouped."""
    return render_template("province/hub.html")


@bp.get("/dashboard")
@officer_required
def index():
    scope = _scope()
    figures = dashboard(scope)
    return render_template(
        "province/dashboard.html",
        scope=scope,
        form=_filter_form(scope),
        figures=figures,
        charts=_charts(scope, figures),
        args=_scope_args(scope),
        is_admin=current_user.role is Role.ADMIN,
        KINDS=list(UnitKind),
        SECTORS=list(Sector),
        GRADES=list(Grade),
    )


def _enum_or_404(enum_cls, name: str):
    value = request.args.get(name) or None
    if value is None:
        return None
    try:
        return enum_cls(value)
    except ValueError:
        abort(404)


@bp.get("/units")
@officer_required
def units():
    scope = _scope()
    metric = request.args.get("metric", "existing")
    if metric not in METRICS:
        abort(404)
    month = _int_arg("month")
    if month is not None and not 1 <= month <= 12:
        abort(404)
    filters = dict(
        kind=_enum_or_404(UnitKind, "kind"),
        sector=_enum_or_404(Sector, "sector"),
        month=month,
        value=request.args.get("value") or None,
    )
    try:
        query = units_query(scope, metric, **filters)
    except ValueError:
        abort(404)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "province/dashboard_units.html",
        scope=scope,
        page=page,
        metric=metric,
        filters=filters,
        args=args,
        back_args=_scope_args(scope),
        is_admin=current_user.role is Role.ADMIN,
    )


@bp.get("/ratings")
@officer_required
def ratings():
    province = _province()
    form = RatingsFilterForm(request.args)
    form.province.choices = province_choices(_("The whole country"))
    sort = form.sort.data if form.sort.data in ratings_mod.SORTS else "rating"
    form.sort.data = sort
    rows = ratings_mod.province_ratings(province, today=local_today(), sort=sort)
    page_no = max(request.args.get("page", 1, type=int), 1)
    pages = max((len(rows) + PER_PAGE - 1) // PER_PAGE, 1)
    page_no = min(page_no, pages)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "province/ratings.html",
        form=form,
        province=province,
        rows=rows[(page_no - 1) * PER_PAGE : page_no * PER_PAGE],
        total=len(rows),
        page_no=page_no,
        pages=pages,
        args=args,
        sort=sort,
        is_admin=current_user.role is Role.ADMIN,
    )


@bp.get("/ratings/<int:unit_id>")
@officer_required
def unit_ratings(unit_id: int):
    unit = officer_unit_or_404(unit_id, current_user)
    figures = ratings_mod.unit_ratings(unit, today=local_today())
    chart = line_chart(
        [(m.strftime("%m/%y"), avg) for m, avg, _n in figures.months],
        title=_("Average buyer rating by month, %(name)s", name=unit.name),
        desc=None if any(avg is not None for _m, avg, _n in figures.months) else _("No review in these months."),
        fmt=lambda v: format_decimal(v, "0.0"),
        floor=0,
        ceiling=5,
    )
    return render_template(
        "province/ratings_unit.html",
        chart=chart,
        unit=unit,
        r=figures,
        history=ratings_mod.grade_history(unit),
        kind_label=KIND_LABELS[unit.kind],
        sector_label=SECTOR_LABELS[unit.sector],
    )
