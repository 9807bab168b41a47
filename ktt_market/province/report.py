"""The annual collective-economy report of a province (or of the country) for a year.

`annual_report(province_code, year)` returns the JSON contract other systems read, computed by a
few GROUP BY queries: counts are as of 31 December of the year (a unit exists then when founded on or
before it and not dissolved on or before it; stopped units count), `founded` and `dissolved` are
events within the year, and a unit's members are its register's active members on 31 December when it
keeps a register, else its declared count (as `members.services.member_count`). Percentages are of the
eligible cooperatives, one decimal, rounded half up; null when none is eligible.

`report_details` adds what the web page and the workbook show besides the contract: the figures by
kind and sector, and the data-quality findings (whatever does not add up).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, cast, func, literal, or_, select

from ..classification.eligibility import Eligibility, condition, existing_condition
from ..classification.models import Assessment, AssessmentStatus, Grade, Rubric
from ..core import places
from ..core.i18n import date_vn
from ..core.spreadsheets import write_xlsx
from ..extensions import db
from ..members.models import Member
from ..registry.forms import KIND_LABELS, SECTOR_LABELS
from ..registry.models import Sector, Unit, UnitKind

GRADED_STATUSES = (AssessmentStatus.FINAL, AssessmentStatus.IMPORTED)
# The data-quality lists name units one by one; a province with thousands of problems gets the
# first ones and the count.
FINDINGS_LIMIT = 200


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _exists_at(day: dt.date):
    """A boolean over `Unit`: founded on or before `day` and not dissolved on or before it."""
    return and_(
        Unit.founded_on.is_not(None),
        Unit.founded_on <= day,
        or_(Unit.dissolved_on.is_(None), Unit.dissolved_on > day),
    )


def _in_province(province_code: int | None):
    return Unit.province_code == province_code if province_code is not None else literal(True)


def _register(province_code: int | None, day: dt.date):
    """Per unit keeping a register: the members active on `day` (as members.services counts them)."""
    active = and_(Member.joined_on <= day, or_(Member.left_on.is_(None), Member.left_on > day))
    query = select(
        Member.unit_id.label("unit_id"),
        func.sum(case((active, 1), else_=0)).label("active"),
    ).group_by(Member.unit_id)
    if province_code is not None:
        query = query.join(Unit, Unit.id == Member.unit_id).where(Unit.province_code == province_code)
    return query.subquery("register")


def _members_expr(register):
    """A unit's member count: its register's active members when it keeps one, else the declared count."""
    return case((register.c.unit_id.is_(None), Unit.declared_members), else_=register.c.active)


@dataclass
class KindSectorRow:
    """The figures of one kind and sector: units at the year's end, their members and capital, the year's events."""

    kind: UnitKind
    sector: Sector
    total: int = 0
    members: int = 0
    charter_capital_vnd: int = 0
    founded: int = 0
    founded_members: int = 0
    dissolved: int = 0


def _kind_sector_rows(province_code: int | None, year: int) -> list[KindSectorRow]:
    first, last = _year_bounds(year)
    register = _register(province_code, last)
    members = _members_expr(register)
    exists = _exists_at(last)
    founded = and_(Unit.founded_on >= first, Unit.founded_on <= last)
    dissolved = and_(Unit.dissolved_on >= first, Unit.dissolved_on <= last)

    def total(cond, value=1):
        return func.coalesce(func.sum(case((cond, value), else_=0)), 0)

    query = (
        select(
            Unit.kind,
            Unit.sector,
            total(exists),
            total(exists, members),
            total(exists, Unit.charter_capital_vnd),
            total(founded),
            total(founded, members),
            total(dissolved),
        )
        .outerjoin(register, register.c.unit_id == Unit.id)
        .where(_in_province(province_code))
        .group_by(Unit.kind, Unit.sector)
    )
    return [
        KindSectorRow(UnitKind(k), Sector(s), *(int(v) for v in values)) for k, s, *values in db.session.execute(query)
    ]


def _classification_counts(province_code: int | None, year: int) -> dict[tuple[str, Grade | None], int]:
    """Cooperatives (HTX) existing at the year's end, by eligibility and final grade of the year."""
    bucket = case(
        (condition(Eligibility.NEW, year), literal(Eligibility.NEW.value)),
        (condition(Eligibility.STOPPED, year), literal(Eligibility.STOPPED.value)),
        else_=literal(Eligibility.ELIGIBLE.value),
    ).label("bucket")
    query = (
        select(bucket, Assessment.grade, func.count())
        .select_from(Unit)
        .outerjoin(
            Assessment,
            and_(Assessment.unit_id == Unit.id, Assessment.year == year, Assessment.status.in_(GRADED_STATUSES)),
        )
        .where(Unit.kind == UnitKind.COOPERATIVE, _in_province(province_code), existing_condition(year))
        .group_by(bucket, Assessment.grade)
    )
    return {(b, Grade(g) if g is not None else None): int(n) for b, g, n in db.session.execute(query)}


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, one decimal rounded half up (5.1 for 7 of 136); None of nothing."""
    if not whole:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def _contract(province_code: int | None, year: int, rows: list[KindSectorRow]) -> dict:
    def pick(kind: UnitKind, sector: Sector | None = None) -> list[KindSectorRow]:
        return [r for r in rows if r.kind is kind and (sector is None or r.sector is sector)]

    def add(items: list[KindSectorRow], attr: str) -> int:
        return sum(getattr(r, attr) for r in items)

    groups, coops = pick(UnitKind.COOPERATIVE_GROUP), pick(UnitKind.COOPERATIVE)
    member_kinds = [r for r in rows if r.kind is not UnitKind.COOPERATIVE_GROUP]
    graded = _classification_counts(province_code, year)
    eligible = sum(n for (b, _g), n in graded.items() if b == Eligibility.ELIGIBLE.value)
    by_grade = {g: graded.get((Eligibility.ELIGIBLE.value, g), 0) for g in Grade}
    return {
        "year": year,
        "province_code": province_code,
        "cooperative_groups": {
            "total": add(groups, "total"),
            "members": add(groups, "members"),
            "agriculture": add(pick(UnitKind.COOPERATIVE_GROUP, Sector.AGRICULTURE), "total"),
            "non_agriculture": add(pick(UnitKind.COOPERATIVE_GROUP, Sector.NON_AGRICULTURE), "total"),
            "founded": add(groups, "founded"),
            "founded_members": add(groups, "founded_members"),
            "dissolved": add(groups, "dissolved"),
        },
        "cooperatives": {
            "total": add(coops, "total"),
            "agriculture": add(pick(UnitKind.COOPERATIVE, Sector.AGRICULTURE), "total"),
            "non_agriculture": add(pick(UnitKind.COOPERATIVE, Sector.NON_AGRICULTURE), "total"),
            "founded": add(coops, "founded"),
            "dissolved": add(coops, "dissolved"),
        },
        "unions": {"total": add(pick(UnitKind.UNION), "total")},
        "credit_funds": {"total": add(pick(UnitKind.CREDIT_FUND), "total")},
        "members": add(member_kinds, "members"),
        "charter_capital_vnd": add(member_kinds, "charter_capital_vnd"),
        "classification": {
            "eligible": eligible,
            "not_eligible_stopped": sum(n for (b, _g), n in graded.items() if b == Eligibility.STOPPED.value),
            "not_eligible_new": sum(n for (b, _g), n in graded.items() if b == Eligibility.NEW.value),
            "good": by_grade[Grade.GOOD],
            "fair": by_grade[Grade.FAIR],
            "average": by_grade[Grade.AVERAGE],
            "weak": by_grade[Grade.WEAK],
            "unrated": graded.get((Eligibility.ELIGIBLE.value, None), 0),
            "good_pct": percent(by_grade[Grade.GOOD], eligible),
            "fair_pct": percent(by_grade[Grade.FAIR], eligible),
            "average_pct": percent(by_grade[Grade.AVERAGE], eligible),
            "weak_pct": percent(by_grade[Grade.WEAK], eligible),
        },
    }


def annual_report(province_code: int | None, year: int) -> dict:
    """Compute the annual report of `province_code` (None: the whole country) for `year`: the JSON contract."""
    return _contract(province_code, year, _kind_sector_rows(province_code, year))


def report_json(report: dict) -> str:
    """Serialise the contract: keys in contract order, Vietnamese text as is."""
    return json.dumps(report, ensure_ascii=False, indent=2)


# ------------------------------------------------------------------ data quality


@dataclass(frozen=True)
class Finding:
    """One unit that does not add up; `values` are the check's own columns (e.g. declared and registered)."""

    unit_id: int
    registration_code: str
    name: str
    values: tuple = ()


@dataclass
class Check:
    """One data-quality check: how many units fail it, and the first of them."""

    key: str
    count: int = 0
    findings: list[Finding] = field(default_factory=list)


def _run(key: str, query) -> Check:
    """Run `query` (Unit.id, code, name, then the check's own columns): counted, and capped for listing."""
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.order_by(Unit.name, Unit.id).limit(FINDINGS_LIMIT)).all() if count else []
    return Check(key=key, count=int(count), findings=[Finding(r[0], r[1], r[2], tuple(r[3:])) for r in rows])


def data_quality(province_code: int | None, year: int) -> list[Check]:
    """Find what does not add up in the year's figures: every check, failing or not."""
    _first, last = _year_bounds(year)
    scope = _in_province(province_code)
    head = (Unit.id, Unit.registration_code, Unit.name)
    graded = and_(Assessment.unit_id == Unit.id, Assessment.year == year, Assessment.status.in_(GRADED_STATUSES))
    htx = Unit.kind == UnitKind.COOPERATIVE
    from_rubric = case(
        (Assessment.score >= Rubric.good_min, Grade.GOOD.value),
        (Assessment.score >= Rubric.fair_min, Grade.FAIR.value),
        (Assessment.score >= Rubric.average_min, Grade.AVERAGE.value),
        else_=Grade.WEAK.value,
    )
    register = _register(province_code, last)
    return [
        # An eligible cooperative the year's classification has not graded (counted as unrated).
        _run(
            "ungraded_eligible",
            select(*head)
            .outerjoin(Assessment, graded)
            .where(scope, htx, condition(Eligibility.ELIGIBLE, year), Assessment.id.is_(None)),
        ),
        # A grade the report leaves out: the cooperative was not eligible that year.
        _run(
            "graded_not_eligible",
            select(*head, Assessment.grade)
            .join(Assessment, graded)
            .where(scope, htx, ~condition(Eligibility.ELIGIBLE, year)),
        ),
        _run(
            "grade_disagrees_with_score",
            select(*head, Assessment.score, Assessment.grade)
            .join(Assessment, graded)
            .join(Rubric, Rubric.id == Assessment.rubric_id)
            .where(
                scope,
                Assessment.score.is_not(None),
                or_(Assessment.grade.is_(None), cast(Assessment.grade, String) != from_rubric),
            ),
        ),
        _run(
            "register_disagrees",
            select(*head, Unit.declared_members, register.c.active)
            .join(register, register.c.unit_id == Unit.id)
            .where(scope, _exists_at(last), Unit.declared_members != register.c.active),
        ),
        # Not counted anywhere: the report cannot tell when such a unit existed.
        _run("no_founding_date", select(*head).where(scope, Unit.founded_on.is_(None))),
        _run(
            "stopped_after_dissolved",
            select(*head, Unit.stopped_on, Unit.dissolved_on).where(
                scope, Unit.stopped_on.is_not(None), Unit.dissolved_on.is_not(None), Unit.stopped_on > Unit.dissolved_on
            ),
        ),
    ]


@dataclass
class ReportDetails:
    """The contract, the figures by kind and sector behind it, and the data-quality checks."""

    report: dict
    rows: list[KindSectorRow]
    checks: list[Check]

    @property
    def problems(self) -> int:
        return sum(c.count for c in self.checks)


def report_details(province_code: int | None, year: int) -> ReportDetails:
    """Compute everything the web page and the workbook show."""
    rows = _kind_sector_rows(province_code, year)
    order = {kind: i for i, kind in enumerate(UnitKind)}
    rows.sort(key=lambda r: (order[r.kind], r.sector.value))
    return ReportDetails(
        report=_contract(province_code, year, rows),
        rows=rows,
        checks=data_quality(province_code, year),
    )


# ------------------------------------------------------------------ labels and the workbook

CHECK_TITLES = {
    "ungraded_eligible": _l("Eligible cooperatives without a grade for the year"),
    "graded_not_eligible": _l("Cooperatives graded for the year although not eligible"),
    "grade_disagrees_with_score": _l("Grades that do not follow from their score under the rubric"),
    "register_disagrees": _l("Declared members that disagree with the member register"),
    "no_founding_date": _l("Units without a founding date (not counted in any figure)"),
    "stopped_after_dissolved": _l("Units stopped after they were dissolved"),
}
GRADE_LABELS = {
    Grade.GOOD: _l("Good"),
    Grade.FAIR: _l("Fair"),
    Grade.AVERAGE: _l("Average"),
    Grade.WEAK: _l("Weak"),
}


def format_percent(value: float | None) -> str:
    """Show a percentage the current language's way (29,5% in Vietnamese); a dash for none."""
    return "–" if value is None else f"{format_decimal(value, format='0.0')}%"


def finding_detail(key: str, finding: Finding) -> str:
    """Say what is wrong with one finding, in words."""
    values = finding.values
    if key == "graded_not_eligible":
        return str(GRADE_LABELS[Grade(values[0])])
    if key == "grade_disagrees_with_score":
        grade = str(GRADE_LABELS[Grade(values[1])]) if values[1] else _("none")
        return _("score %(score)s, grade %(grade)s", score=values[0], grade=grade)
    if key == "register_disagrees":
        return _("declared %(declared)s, in the register %(registered)s", declared=values[0], registered=values[1])
    if key == "stopped_after_dissolved":
        return _(
            "stopped %(stopped)s, dissolved %(dissolved)s", stopped=date_vn(values[0]), dissolved=date_vn(values[1])
        )
    return ""


def report_title(province_code: int | None, year: int) -> str:
    """Name the report: its year and its province (or the whole country)."""
    where = places.province_name(province_code) if province_code is not None else _("the whole country")
    return _("Collective economy in %(year)s: %(where)s", year=year, where=where)


def report_workbook(details: ReportDetails) -> bytes:
    """Write the report as an XLSX workbook: the figures, the classification, and the data-quality findings."""
    r, year = details.report, details.report["year"]
    groups, coops, cls = r["cooperative_groups"], r["cooperatives"], r["classification"]
    at_end = _("at 31 December %(year)s", year=year)
    summary = [
        (report_title(r["province_code"], year), None),
        (_("Cooperative groups (THT) %(at)s", at=at_end), groups["total"]),
        (_("of which in agriculture"), groups["agriculture"]),
        (_("of which outside agriculture"), groups["non_agriculture"]),
        (_("Members of cooperative groups"), groups["members"]),
        (_("Cooperative groups founded in the year"), groups["founded"]),
        (_("Members of the groups founded in the year"), groups["founded_members"]),
        (_("Cooperative groups dissolved in the year"), groups["dissolved"]),
        (_("Cooperatives (HTX) %(at)s", at=at_end), coops["total"]),
        (_("of which in agriculture"), coops["agriculture"]),
        (_("of which outside agriculture"), coops["non_agriculture"]),
        (_("Cooperatives founded in the year"), coops["founded"]),
        (_("Cooperatives dissolved in the year"), coops["dissolved"]),
        (_("Unions of cooperatives (LHHTX)"), r["unions"]["total"]),
        (_("People's credit funds (QTDND)"), r["credit_funds"]["total"]),
        (_("Members of cooperatives, unions and credit funds"), r["members"]),
        (_("Charter capital of cooperatives, unions and credit funds (đồng)"), r["charter_capital_vnd"]),
    ]
    by_kind = [
        (
            str(KIND_LABELS[row.kind]),
            str(SECTOR_LABELS[row.sector]),
            row.total,
            row.members,
            row.charter_capital_vnd,
            row.founded,
            row.dissolved,
        )
        for row in details.rows
    ]
    classification = [
        (_("Eligible for classification"), cls["eligible"], 100.0 if cls["eligible"] else None),
        *(
            (str(GRADE_LABELS[g]), cls[g.value], cls[f"{g.value}_pct"])
            for g in (Grade.GOOD, Grade.FAIR, Grade.AVERAGE, Grade.WEAK)
        ),
        (_("Eligible without a grade"), cls["unrated"], percent(cls["unrated"], cls["eligible"])),
        (_("Not eligible: stopped more than 3 months"), cls["not_eligible_stopped"], None),
        (_("Not eligible: operating less than 12 months"), cls["not_eligible_new"], None),
    ]
    quality = [
        (str(CHECK_TITLES[c.key]), f.registration_code, f.name, finding_detail(c.key, f))
        for c in details.checks
        for f in c.findings
    ]
    if not quality:
        quality = [(_("Everything adds up."), "", "", "")]
    return write_xlsx(
        {
            _("Summary"): ([_("Indicator"), _("Figure")], summary),
            _("By kind and sector"): (
                [
                    _("Kind"),
                    _("Sector"),
                    _("Units %(at)s", at=at_end),
                    _("Members"),
                    _("Charter capital (đồng)"),
                    _("Founded in the year"),
                    _("Dissolved in the year"),
                ],
                by_kind,
            ),
            _("Classification"): ([_("Cooperatives (HTX)"), _("Number"), _("Share of eligible (%)")], classification),
            _("Data quality"): ([_("Check"), _("Registration code"), _("Unit"), _("Detail")], quality),
        }
    )
