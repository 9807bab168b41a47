"""Ratings officers follow per cooperative: buyer ratings, cancellations and complaints, beside the grade.

Definitions (shown on the pages too):
- average and count: every buyer review of the unit still shown (not hidden), as buyers see them;
- trend: the average of the last 90 days minus that of the 90 days before (none if either has no review);
- cancellation rate: orders cancelled / orders placed in the last 365 days (orders never paid for and
  still waiting are not placed);
- complaint rate: complaints / reviews written in the last 365 days, a complaint being a review rated
  2 stars or fewer, or one reported to the moderators.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, or_, select

from ..classification.models import Assessment, Grade
from ..core.i18n import local_start
from ..extensions import db
from ..orders.models import Order, OrderStatus, Review
from ..registry.models import PlatformStatus, Unit
from .dashboard import COUNTED_ASSESSMENTS

TREND_DAYS = 90
PERIOD_DAYS = 365
LOW_RATING = 2
SORTS = ("rating", "cancellations", "complaints", "name")


@dataclass
class UnitRatings:
    """One unit's figures."""

    unit: Unit
    average: float | None = None
    count: int = 0
    recent: float | None = None
    previous: float | None = None
    orders: int = 0
    cancelled: int = 0
    reviews: int = 0
    complaints: int = 0
    grade: Grade | None = None
    grade_year: int | None = None
    months: list[tuple[dt.date, float | None, int]] = field(default_factory=list)

    @property
    def trend(self) -> float | None:
        if self.recent is None or self.previous is None:
            return None
        return round(self.recent - self.previous, 2)

    @property
    def cancellation_rate(self) -> float | None:
        return round(100 * self.cancelled / self.orders, 1) if self.orders else None

    @property
    def complaint_rate(self) -> float | None:
        return round(100 * self.complaints / self.reviews, 1) if self.reviews else None


def _avg(value) -> float | None:
    return round(float(value), 2) if value is not None else None


def _periods(today: dt.date) -> dict[str, dt.datetime]:
    tomorrow = today + dt.timedelta(days=1)
    return {
        "end": local_start(tomorrow),
        "recent": local_start(tomorrow - dt.timedelta(days=TREND_DAYS)),
        "previous": local_start(tomorrow - dt.timedelta(days=2 * TREND_DAYS)),
        "period": local_start(tomorrow - dt.timedelta(days=PERIOD_DAYS)),
    }


def _fill(rows: dict[int, UnitRatings], today: dt.date) -> None:
    """Add the review, order and grade figures of `rows` (three grouped queries)."""
    ids = list(rows)
    if not ids:
        return
    p = _periods(today)
    shown = Review.hidden_at.is_(None)
    created = Review.created_at
    in_period = and_(created >= p["period"], created < p["end"])
    complaint = or_(Review.unit_rating <= LOW_RATING, Review.reported_at.is_not(None))
    review_rows = db.session.execute(
        select(
            Review.unit_id,
            func.avg(case((shown, Review.unit_rating))),
            func.count(case((shown, Review.id))),
            func.avg(case((and_(shown, created >= p["recent"], created < p["end"]), Review.unit_rating))),
            func.avg(case((and_(shown, created >= p["previous"], created < p["recent"]), Review.unit_rating))),
            func.count(case((in_period, Review.id))),
            func.count(case((and_(in_period, complaint), Review.id))),
        )
        .where(Review.unit_id.in_(ids))
        .group_by(Review.unit_id)
    ).all()
    for unit_id, average, count, recent, previous, reviews, complaints in review_rows:
        r = rows[unit_id]
        r.average, r.count, r.recent, r.previous = _avg(average), count, _avg(recent), _avg(previous)
        r.reviews, r.complaints = reviews, complaints

    placed = and_(
        Order.status != OrderStatus.PENDING_PAYMENT, Order.placed_at >= p["period"], Order.placed_at < p["end"]
    )
    order_rows = db.session.execute(
        select(
            Order.unit_id,
            func.count(Order.id),
            func.coalesce(func.sum(case((Order.status == OrderStatus.CANCELLED, 1), else_=0)), 0),
        )
        .where(Order.unit_id.in_(ids), placed)
        .group_by(Order.unit_id)
    ).all()
    for unit_id, orders, cancelled in order_rows:
        rows[unit_id].orders, rows[unit_id].cancelled = orders, int(cancelled)

    grade_rows = db.session.execute(
        select(Assessment.unit_id, Assessment.year, Assessment.grade)
        .where(
            Assessment.unit_id.in_(ids),
            Assessment.status.in_(COUNTED_ASSESSMENTS),
            Assessment.grade.is_not(None),
        )
        .order_by(Assessment.unit_id, Assessment.year)
    ).all()
    for unit_id, year, grade in grade_rows:  # ordered by year: the last one wins
        rows[unit_id].grade, rows[unit_id].grade_year = grade, year


def _sort_key(sort: str):
    def key(r: UnitRatings):
        name = (r.unit.name.casefold(), r.unit.id)
        if sort == "rating":  # best first, units without reviews last
            return (r.average is None, -(r.average or 0), -r.count, name)
        if sort == "cancellations":  # worst first
            return (r.cancellation_rate is None, -(r.cancellation_rate or 0), name)
        if sort == "complaints":
            return (r.complaint_rate is None, -(r.complaint_rate or 0), name)
        return name

    return key


def province_ratings(province: int | None, *, today: dt.date, sort: str = "rating") -> list[UnitRatings]:
    """Ratings of the units of a province (None: all) that are on the platform or ever had an order."""
    has_order = exists().where(Order.unit_id == Unit.id)
    query = select(Unit).where(or_(Unit.platform_status == PlatformStatus.APPROVED, has_order))
    if province is not None:
        query = query.where(Unit.province_code == province)
    rows = {unit.id: UnitRatings(unit) for unit in db.session.scalars(query)}
    _fill(rows, today)
    return sorted(rows.values(), key=_sort_key(sort if sort in SORTS else "rating"))


def unit_ratings(unit: Unit, *, today: dt.date, months: int = 12) -> UnitRatings:
    """One unit's figures, with its average rating month by month over the last `months` months."""
    rows = {unit.id: UnitRatings(unit)}
    _fill(rows, today)
    result = rows[unit.id]
    firsts = []
    first = today.replace(day=1)
    for _ in range(months):
        firsts.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    firsts.reverse()
    bounds = [(local_start(m), local_start((m + dt.timedelta(days=32)).replace(day=1))) for m in firsts]
    shown = Review.hidden_at.is_(None)
    columns = []
    for start, end in bounds:
        in_month = and_(shown, Review.created_at >= start, Review.created_at < end)
        columns += [func.avg(case((in_month, Review.unit_rating))), func.count(case((in_month, Review.id)))]
    row = db.session.execute(select(*columns).where(Review.unit_id == unit.id)).one()
    result.months = [(m, _avg(row[2 * i]), int(row[2 * i + 1] or 0)) for i, m in enumerate(firsts)]
    return result


def grade_history(unit: Unit) -> list[Assessment]:
    """The unit's counted assessments, latest year first."""
    return list(
        db.session.scalars(
            select(Assessment)
            .where(Assessment.unit_id == unit.id, Assessment.status.in_(COUNTED_ASSESSMENTS))
            .order_by(Assessment.year.desc())
        )
    )
