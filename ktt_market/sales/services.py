"""Sales figures of one cooperative: orders and revenue by week and month, best sellers, low stock.

Days are Vietnam days: an order placed at 18:30 UTC on 31 March counts on 1 April. The database sums
per day; weeks and months are made from those few hundred rows in Python, the same on every backend.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..catalog.models import Product
from ..core.i18n import VN_TZ, local_today
from ..extensions import db
from ..orders.models import Order, OrderLine, OrderStatus

# Orders that count as sales: placed and not cancelled or refunded (unpaid ones are not placed yet).
SOLD = (
    OrderStatus.PLACED,
    OrderStatus.CONFIRMED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)
DEFAULT_WEEKS = 12
DEFAULT_MONTHS = 12
MAX_DAYS = 3 * 366  # a longer period makes a weekly table nobody reads
BEST_SELLERS = 10


class local_date(FunctionElement):
    """The Vietnam calendar date of a UTC timestamp column, in SQL."""

    type = Date()
    name = "local_date"
    inherit_cache = True


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)"


@compiles(local_date)
def _local_date_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps UTC text and knows no zones; Vietnam has kept UTC+7 without daylight saving since 1975.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


@dataclass(frozen=True)
class Period:
    """A span of Vietnam days, both ends included."""

    start: dt.date
    end: dt.date

    @property
    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Return the UTC instants where the first day starts and the day after the last starts."""
        start = dt.datetime.combine(self.start, dt.time(), VN_TZ).astimezone(dt.UTC)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), VN_TZ).astimezone(dt.UTC)
        return start, end


def week_start(day: dt.date) -> dt.date:
    """Return the Monday of the week of `day`."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def default_weeks(today: dt.date | None = None) -> Period:
    """Return the last 12 weeks, this one included (Monday to today)."""
    today = today or local_today()
    return Period(week_start(today) - dt.timedelta(weeks=DEFAULT_WEEKS - 1), today)


def default_months(today: dt.date | None = None) -> Period:
    """Return the last 12 months, this one included (the 1st to today)."""
    today = today or local_today()
    return Period(_add_months(month_start(today), -(DEFAULT_MONTHS - 1)), today)


@dataclass(frozen=True)
class Bucket:
    """One row of a weekly or monthly table."""

    start: dt.date
    end: dt.date
    orders: int
    revenue_vnd: int


def _sold_orders(unit_id: int, period: Period):
    start, end = period.utc_bounds
    return (
        Order.unit_id == unit_id,
        Order.status.in_(SOLD),
        Order.placed_at >= start,
        Order.placed_at < end,
    )


def daily_sales(unit_id: int, period: Period) -> dict[dt.date, tuple[int, int]]:
    """Return {Vietnam day: (orders, revenue)} for the days of the period that had sales."""
    day = local_date(Order.placed_at)
    rows = db.session.execute(
        select(day, func.count(Order.id), func.coalesce(func.sum(Order.subtotal_vnd), 0))
        .where(*_sold_orders(unit_id, period))
        .group_by(day)
    )
    out: dict[dt.date, tuple[int, int]] = {}
    for value, orders, revenue in rows:
        # SQLite may hand back the date as text, depending on how the expression was typed.
        key = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        out[key] = (int(orders), int(revenue))
    return out


def sales_table(unit_id: int, period: Period, *, by: str) -> list[Bucket]:
    """Return orders and revenue per week ("week", Monday first) or month ("month"), empty ones included."""
    if by == "week":
        first, step, bucket_of = week_start(period.start), (lambda d: d + dt.timedelta(weeks=1)), week_start
    elif by == "month":
        first, step, bucket_of = month_start(period.start), (lambda d: _add_months(d, 1)), month_start
    else:
        raise ValueError(by)
    totals: dict[dt.date, list[int]] = {}
    for day, (orders, revenue) in daily_sales(unit_id, period).items():
        total = totals.setdefault(bucket_of(day), [0, 0])
        total[0] += orders
        total[1] += revenue
    buckets = []
    start = first
    while start <= period.end:
        following = step(start)
        orders, revenue = totals.get(start, (0, 0))
        # The first and last rows are cut to the period, so a row never claims days that were not counted.
        buckets.append(
            Bucket(max(start, period.start), min(following - dt.timedelta(days=1), period.end), orders, revenue)
        )
        start = following
    return buckets


@dataclass(frozen=True)
class BestSeller:
    product_id: int
    name: str
    sale_unit: str
    quantity: int
    revenue_vnd: int


def best_sellers(unit_id: int, period: Period, *, by: str = "quantity", limit: int = BEST_SELLERS) -> list[BestSeller]:
    """Return the unit's top products over the period by quantity sold or by revenue."""
    quantity = func.sum(OrderLine.quantity).label("quantity")
    revenue = func.sum(OrderLine.line_total_vnd).label("revenue")
    order = (quantity.desc(), revenue.desc()) if by == "quantity" else (revenue.desc(), quantity.desc())
    rows = db.session.execute(
        select(Product.id, Product.name, Product.sale_unit, quantity, revenue)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_sold_orders(unit_id, period))
        .group_by(Product.id, Product.name, Product.sale_unit)
        .order_by(*order, Product.id)
        .limit(limit)
    )
    return [BestSeller(pid, name, str(unit), int(q), int(r)) for pid, name, unit, q, r in rows]


def low_stock(unit_id: int) -> list[Product]:
    """Return the unit's published products at or below their low-stock threshold, emptiest first."""
    return list(
        db.session.scalars(
            select(Product)
            .where(
                Product.unit_id == unit_id, Product.published.is_(True), Product.stock <= Product.low_stock_threshold
            )
            .order_by(Product.stock, Product.name, Product.id)
        )
    )


def status_counts(unit_id: int, period: Period) -> dict[OrderStatus, int]:
    """Return how many of the unit's orders placed in the period are in each status now (all statuses listed)."""
    start, end = period.utc_bounds
    rows = db.session.execute(
        select(Order.status, func.count(Order.id))
        .where(Order.unit_id == unit_id, Order.placed_at >= start, Order.placed_at < end)
        .group_by(Order.status)
    )
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update({OrderStatus(status): int(n) for status, n in rows})
    return counts
