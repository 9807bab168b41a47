"""The participation dashboard: figures of a province (or the country) for a year, by SQL aggregation.

Every figure is counted under the same conditions its drill-down list uses (`unit_conditions`),
so following a figure always shows exactly the units behind it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..catalog.models import Product
from ..classification.models import Assessment, AssessmentStatus, Grade
from ..core.i18n import local_start, local_year_bounds
from ..extensions import db
from ..orders.models import Order, OrderStatus, PaymentMethod
from ..payments.models import Payment, PaymentStatus
from ..programs.models import ApplicationStatus, Disbursement, ProgramApplication, ProgramStatus, SupportProgram
from ..registry.models import PlatformStatus, Sector, Unit, UnitKind

WINDOW_DAYS = 90
GRADE_YEARS = 5  # classification shown for the chosen year and the four before
# An order counts as a sale once placed and as long as it is not cancelled or refunded.
SALE_STATUSES = (
    OrderStatus.PLACED,
    OrderStatus.CONFIRMED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)
ELECTRONIC_METHODS = (PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER)
COUNTED_ASSESSMENTS = (AssessmentStatus.FINAL, AssessmentStatus.IMPORTED)
METRICS = (
    "existing",
    "founded",
    "dissolved",
    "on_platform",
    "published",
    "ordered",
    "sold",
    "electronic",
    "grade",
    "program",
)


@dataclass(frozen=True)
class Scope:
    """Where and when the dashboard looks: a province (None: the country), a ward, a year."""

    province: int | None
    year: int
    today: dt.date
    ward: int | None = None

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    @property
    def day(self) -> dt.date:
        """The day counts are taken on: today for this year, 31 December for a past year."""
        return min(self.today, self.last_day)

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """The 90 days ending on `day` (inclusive), as UTC instants [start, end)."""
        return local_start(self.day - dt.timedelta(days=WINDOW_DAYS - 1)), local_start(self.day + dt.timedelta(days=1))

    @property
    def year_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return local_start(self.first_day), local_year_bounds(self.year)[1]


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC instants [start, end) of a month, Vietnam time."""
    end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return local_start(dt.date(year, month, 1)), local_start(end)


def place_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    conditions = []
    if scope.province is not None:
        conditions.append(Unit.province_code == scope.province)
    if scope.ward is not None:
        conditions.append(Unit.ward_code == scope.ward)
    return conditions


def exists_on(day: dt.date) -> ColumnElement[bool]:
    """Founded by `day` and not dissolved by then (the registry's Unit.exists_on, in SQL)."""
    return and_(
        Unit.founded_on.is_not(None),
        Unit.founded_on <= day,
        or_(Unit.dissolved_on.is_(None), Unit.dissolved_on > day),
    )


def _sales_in(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return and_(Order.status.in_(SALE_STATUSES), Order.placed_at >= start, Order.placed_at < end)


def _electronic_paid(scope: Scope) -> ColumnElement[bool]:
    start, end = scope.year_bounds
    return and_(
        Payment.status == PaymentStatus.SUCCEEDED,
        Payment.method.in_(ELECTRONIC_METHODS),
        Payment.paid_at >= start,
        Payment.paid_at < end,
    )


def _paid_in_year(scope: Scope) -> ColumnElement[bool]:
    start, end = scope.year_bounds
    return and_(Payment.status == PaymentStatus.SUCCEEDED, Payment.paid_at >= start, Payment.paid_at < end)


def unit_conditions(
    scope: Scope,
    metric: str,
    *,
    kind: UnitKind | None = None,
    sector: Sector | None = None,
    month: int | None = None,
    value: str | None = None,
) -> list[ColumnElement[bool]]:
    """The conditions on Unit behind a figure; raise ValueError for a metric or value that means nothing."""
    conditions = place_conditions(scope)
    if kind is not None:
        conditions.append(Unit.kind == kind)
    if sector is not None:
        conditions.append(Unit.sector == sector)
    if metric == "existing":
        conditions.append(exists_on(scope.day))
    elif metric == "founded":
        conditions.append(Unit.founded_on.between(scope.first_day, scope.last_day))
    elif metric == "dissolved":
        conditions.append(Unit.dissolved_on.between(scope.first_day, scope.last_day))
    elif metric == "on_platform":
        conditions += [exists_on(scope.day), Unit.platform_status == PlatformStatus.APPROVED]
    elif metric == "published":
        published = exists().where(Product.unit_id == Unit.id, Product.published.is_(True))
        conditions += [exists_on(scope.day), published]
    elif metric == "ordered":
        conditions.append(exists().where(Order.unit_id == Unit.id, _sales_in(*scope.window)))
    elif metric == "sold":
        bounds = month_bounds(scope.year, month) if month else scope.year_bounds
        conditions.append(exists().where(Order.unit_id == Unit.id, _sales_in(*bounds)))
    elif metric == "electronic":
        paid = select(Payment.id).join(Order, Order.id == Payment.order_id)
        conditions.append(paid.where(Order.unit_id == Unit.id, _electronic_paid(scope)).exists())
    elif metric == "grade":
        grade = Grade(value)
        graded = exists().where(
            Assessment.unit_id == Unit.id,
            Assessment.year == scope.year,
            Assessment.status.in_(COUNTED_ASSESSMENTS),
            Assessment.grade == grade,
        )
        conditions.append(graded)
    elif metric == "program":
        # One program (value: its id), or any published program of the year.
        approved = select(ProgramApplication.id).join(SupportProgram)
        approved = approved.where(
            ProgramApplication.unit_id == Unit.id, ProgramApplication.status == ApplicationStatus.APPROVED
        )
        if value is not None:
            approved = approved.where(ProgramApplication.program_id == int(value))
        else:
            approved = approved.where(SupportProgram.year == scope.year, SupportProgram.status != ProgramStatus.DRAFT)
        if scope.province is not None:
            approved = approved.where(SupportProgram.province_code == scope.province)
        conditions.append(approved.exists())
    else:
        raise ValueError(metric)
    return conditions


def units_query(scope: Scope, metric: str, **filters):
    """The units behind a figure, by name (a Select to paginate)."""
    return select(Unit).where(*unit_conditions(scope, metric, **filters)).order_by(Unit.name, Unit.id)


# ---------------------------------------------------------------- the figures


def _registry(scope: Scope) -> dict:
    """Units existing on the day by kind and sector, with members and charter capital."""
    rows = db.session.execute(
        select(
            Unit.kind,
            Unit.sector,
            func.count(Unit.id),
            func.coalesce(func.sum(Unit.declared_members), 0),
            func.coalesce(func.sum(Unit.charter_capital_vnd), 0),
        )
        .where(*place_conditions(scope), exists_on(scope.day))
        .group_by(Unit.kind, Unit.sector)
    ).all()
    by_kind = {kind: {"units": 0, "members": 0, "capital": 0} for kind in UnitKind}
    by_sector = dict.fromkeys(Sector, 0)
    for kind, sector, n, members, capital in rows:
        by_kind[kind]["units"] += n
        by_kind[kind]["members"] += int(members)
        by_kind[kind]["capital"] += int(capital)
        by_sector[sector] += n
    total = {key: sum(v[key] for v in by_kind.values()) for key in ("units", "members", "capital")}
    return {"by_kind": by_kind, "by_sector": by_sector, "total": total}


def _by_place(scope: Scope) -> list[tuple[int, int]]:
    """Existing units per ward (per province for the whole country), most first."""
    column = Unit.ward_code if scope.province is not None else Unit.province_code
    rows = db.session.execute(
        select(column, func.count(Unit.id))
        .where(*place_conditions(scope), exists_on(scope.day))
        .group_by(column)
        .order_by(func.count(Unit.id).desc(), column)
    ).all()
    return [(code, n) for code, n in rows]


def _events(scope: Scope) -> dict[UnitKind, dict[str, int]]:
    """Units founded and dissolved within the year, by kind."""
    in_year = dict(founded=Unit.founded_on, dissolved=Unit.dissolved_on)
    rows = db.session.execute(
        select(
            Unit.kind,
            *(
                func.coalesce(func.sum(case((col.between(scope.first_day, scope.last_day), 1), else_=0)), 0)
                for col in in_year.values()
            ),
        )
        .where(
            *place_conditions(scope),
            or_(*(col.between(scope.first_day, scope.last_day) for col in in_year.values())),
        )
        .group_by(Unit.kind)
    ).all()
    result = {kind: {"founded": 0, "dissolved": 0} for kind in UnitKind}
    for kind, founded, dissolved in rows:
        result[kind] = {"founded": int(founded), "dissolved": int(dissolved)}
    return result


def _count(scope: Scope, metric: str) -> int:
    return db.session.scalar(select(func.count(Unit.id)).where(*unit_conditions(scope, metric))) or 0


def _participation(scope: Scope) -> dict[str, int]:
    return {metric: _count(scope, metric) for metric in ("existing", "on_platform", "published", "ordered")}


def _sales(scope: Scope) -> dict:
    """Sales (order subtotals) by the seller's ward (province for the country) and by month."""
    start, end = scope.year_bounds
    column = Unit.ward_code if scope.province is not None else Unit.province_code
    by_place = db.session.execute(
        select(column, func.sum(Order.subtotal_vnd), func.count(func.distinct(Unit.id)), func.count(Order.id))
        .join(Unit, Unit.id == Order.unit_id)
        .where(*place_conditions(scope), _sales_in(start, end))
        .group_by(column)
        .order_by(func.sum(Order.subtotal_vnd).desc(), column)
    ).all()
    months = [month_bounds(scope.year, m) for m in range(1, 13)]
    month_sums = [
        func.coalesce(func.sum(case((and_(Order.placed_at >= a, Order.placed_at < b), Order.subtotal_vnd), else_=0)), 0)
        for a, b in months
    ]
    month_units = [
        func.count(func.distinct(case((and_(Order.placed_at >= a, Order.placed_at < b), Order.unit_id))))
        for a, b in months
    ]
    row = db.session.execute(
        select(*month_sums, *month_units)
        .join(Unit, Unit.id == Order.unit_id)
        .where(*place_conditions(scope), _sales_in(start, end))
    ).one()
    by_month = [(m, int(row[m - 1]), int(row[12 + m - 1])) for m in range(1, 13)]
    return {
        "by_place": [(code, int(total), units, orders) for code, total, units, orders in by_place],
        "by_month": by_month,
        "total": sum(total for _m, total, _u in by_month),
    }


def _payments(scope: Scope) -> dict:
    """Payments received in the year: all of them, and those paid by card or bank transfer."""
    electronic = Payment.method.in_(ELECTRONIC_METHODS)
    row = db.session.execute(
        select(
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.amount_vnd), 0),
            func.coalesce(func.sum(case((electronic, 1), else_=0)), 0),
            func.coalesce(func.sum(case((electronic, Payment.amount_vnd), else_=0)), 0),
        )
        .join(Order, Order.id == Payment.order_id)
        .join(Unit, Unit.id == Order.unit_id)
        .where(*place_conditions(scope), _paid_in_year(scope))
    ).one()
    paid, paid_vnd, e_count, e_vnd = (int(v) for v in row)
    return {
        "paid": paid,
        "paid_vnd": paid_vnd,
        "electronic": e_count,
        "electronic_vnd": e_vnd,
        "share": round(100 * e_count / paid, 1) if paid else None,
        "share_vnd": round(100 * e_vnd / paid_vnd, 1) if paid_vnd else None,
        "units": _count(scope, "electronic"),
    }


def _classification(scope: Scope) -> dict:
    """Counted grades (final or imported) per year, for the chosen year and the four before."""
    years = list(range(scope.year - GRADE_YEARS + 1, scope.year + 1))
    rows = db.session.execute(
        select(Assessment.year, Assessment.grade, func.count(Assessment.id))
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(
            *place_conditions(scope),
            Assessment.year.between(years[0], years[-1]),
            Assessment.status.in_(COUNTED_ASSESSMENTS),
            Assessment.grade.is_not(None),
        )
        .group_by(Assessment.year, Assessment.grade)
    ).all()
    table = {year: dict.fromkeys(Grade, 0) for year in years}
    for year, grade, n in rows:
        table[year][grade] = n
    return {"years": years, "table": table, "current": table[scope.year]}


def _programs(scope: Scope) -> dict:
    """Published programs of the year: budget, beneficiaries (approved units in scope), amounts disbursed."""
    query = select(SupportProgram).where(
        SupportProgram.year == scope.year, SupportProgram.status != ProgramStatus.DRAFT
    )
    if scope.province is not None:
        query = query.where(SupportProgram.province_code == scope.province)
    programs = list(db.session.scalars(query.order_by(SupportProgram.opens_on, SupportProgram.id)))
    ids = [p.id for p in programs]
    beneficiaries: dict[int, int] = {}
    disbursed: dict[int, int] = {}
    distinct_units = 0
    if ids:
        approved = and_(ProgramApplication.program_id.in_(ids), ProgramApplication.status == ApplicationStatus.APPROVED)
        distinct_units = db.session.scalar(
            select(func.count(func.distinct(ProgramApplication.unit_id)))
            .join(Unit, Unit.id == ProgramApplication.unit_id)
            .where(approved, *place_conditions(scope))
        )
        beneficiaries = dict(
            db.session.execute(
                select(ProgramApplication.program_id, func.count(func.distinct(ProgramApplication.unit_id)))
                .join(Unit, Unit.id == ProgramApplication.unit_id)
                .where(approved, *place_conditions(scope))
                .group_by(ProgramApplication.program_id)
            ).all()
        )
        disbursed = dict(
            db.session.execute(
                select(ProgramApplication.program_id, func.sum(Disbursement.amount_vnd))
                .join(ProgramApplication, ProgramApplication.id == Disbursement.application_id)
                .join(Unit, Unit.id == ProgramApplication.unit_id)
                .where(ProgramApplication.program_id.in_(ids), *place_conditions(scope))
                .group_by(ProgramApplication.program_id)
            ).all()
        )
    rows = [
        {
            "program": p,
            "budget": p.budget_vnd,
            "beneficiaries": beneficiaries.get(p.id, 0),
            "disbursed": int(disbursed.get(p.id) or 0),
        }
        for p in programs
    ]
    return {
        "rows": rows,
        "count": len(rows),
        "budget": sum(r["budget"] for r in rows),
        "disbursed": sum(r["disbursed"] for r in rows),
        "beneficiaries": distinct_units,  # a unit helped by two programs counts once
    }


def dashboard(scope: Scope) -> dict:
    """Every figure of the dashboard for `scope` (a bounded number of aggregate queries)."""
    return {
        "registry": _registry(scope),
        "by_place": _by_place(scope),
        "events": _events(scope),
        "participation": _participation(scope),
        "sales": _sales(scope),
        "payments": _payments(scope),
        "classification": _classification(scope),
        "programs": _programs(scope),
    }
