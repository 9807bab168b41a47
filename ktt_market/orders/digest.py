"""The managers' daily digest: a unit's orders of one local day, what still waits, low stock, new reviews.

Built for every selling unit at once in a fixed number of queries (one per section, whatever the
number of units), then owed to each owner and staff member through the notifications outbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select

from ..accounts.models import User
from ..catalog.models import Product
from ..core.i18n import VN_TZ, local_time, local_today
from ..extensions import db
from ..notifications.models import Kind
from ..notifications.services import notify_many
from ..registry.models import PlatformStatus, Unit, UnitStaff
from .models import Order, OrderStatus, Purchase, Review

# Orders and products listed by name in one digest; the rest are counted and linked.
MAX_LISTED = 20

# A day's new orders leave out checkouts never paid (still waiting, or lapsed) and cancelled ones.
NOT_NEW = (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)


@dataclass
class UnitDigest:
    """What one unit's managers are told about one local day."""

    unit_id: int
    unit_name: str
    day: dt.date
    managers: list[User] = field(default_factory=list)
    new_count: int = 0
    new_total_vnd: int = 0
    new_orders: list[dict[str, Any]] = field(default_factory=list)
    waiting_count: int = 0
    waiting_since: dt.date | None = None
    low_stock_count: int = 0
    low_stock: list[dict[str, Any]] = field(default_factory=list)
    new_reviews: int = 0

    @property
    def has_news(self) -> bool:
        """Whether there is anything to tell (a quiet unit gets no message)."""
        return bool(self.new_count or self.waiting_count or self.low_stock_count or self.new_reviews)

    def payload(self) -> dict[str, Any]:
        """Return the digest as the JSON payload of its outbox messages."""
        return {
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "day": self.day.isoformat(),
            "new_count": self.new_count,
            "new_total_vnd": self.new_total_vnd,
            "new_orders": self.new_orders,
            "waiting_count": self.waiting_count,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
            "waiting_link": _path("orders.incoming", unit_id=self.unit_id, status=OrderStatus.PLACED.value),
            "low_stock_count": self.low_stock_count,
            "low_stock": self.low_stock,
            "products_link": _path("catalog_manage.products", unit_id=self.unit_id),
            "new_reviews": self.new_reviews,
            "reviews_link": _path("reviews.unit", unit_id=self.unit_id),
            "settings_link": _path("notifications.settings"),
            "link": _path("orders.incoming", unit_id=self.unit_id),
        }


def _path(endpoint: str, **values: Any) -> str:
    """Return the path of `endpoint`, with or without a request (the task has none)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def previous_local_day() -> dt.date:
    """Return yesterday in Vietnam: the day a 07:00 digest reports on."""
    return local_today() - dt.timedelta(days=1)


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC instants where `day` begins and ends in Vietnam (end excluded)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=VN_TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=VN_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _selling_unit_ids() -> Select:
    return select(Unit.id).where(Unit.platform_status == PlatformStatus.APPROVED, Unit.dissolved_on.is_(None))


def build_digests(day: dt.date) -> list[UnitDigest]:
    """Return the digest of `day` for every selling unit that has managers, quiet ones included.

    Six queries whatever the number of units: each section is one grouped or windowed query over
    all units, never one per unit.
    """
    start, end = local_day_bounds(day)
    selling = _selling_unit_ids()
    digests: dict[int, UnitDigest] = {}

    # Managers: every active owner and staff member of a unit that may sell.
    rows = db.session.execute(
        select(Unit.id, Unit.name, User)
        .join(UnitStaff, UnitStaff.unit_id == Unit.id)
        .join(User, User.id == UnitStaff.user_id)
        .where(Unit.id.in_(selling), User.active.is_(True))
        .order_by(Unit.id, User.id)
    ).all()
    for unit_id, unit_name, user in rows:
        digest = digests.get(unit_id)
        if digest is None:
            digest = digests[unit_id] = UnitDigest(unit_id=unit_id, unit_name=unit_name, day=day)
        digest.managers.append(user)
    if not digests:
        return []

    # The day's new orders: count and total per unit over the partition, the first MAX_LISTED listed.
    new = (
        select(
            Order.id.label("order_id"),
            Order.unit_id,
            Order.subtotal_vnd,
            Purchase.number,
            func.row_number().over(partition_by=Order.unit_id, order_by=(Order.placed_at, Order.id)).label("rank"),
            func.count().over(partition_by=Order.unit_id).label("n"),
            func.sum(Order.subtotal_vnd).over(partition_by=Order.unit_id).label("total"),
        )
        .join(Purchase, Purchase.id == Order.purchase_id)
        .where(
            Order.unit_id.in_(selling),
            Order.placed_at >= start,
            Order.placed_at < end,
            Order.status.not_in(NOT_NEW),
        )
        .subquery()
    )
    for row in db.session.execute(
        select(new).where(new.c.rank <= MAX_LISTED).order_by(new.c.unit_id, new.c.rank)
    ).all():
        digest = digests.get(row.unit_id)
        if digest is None:
            continue  # nobody to tell
        digest.new_count = row.n
        digest.new_total_vnd = int(row.total or 0)
        digest.new_orders.append(
            {
                "number": row.number,
                "subtotal_vnd": row.subtotal_vnd,
                "link": _path("orders.unit_order", unit_id=row.unit_id, order_id=row.order_id),
            }
        )

    # Orders of any day still waiting for the unit to confirm them.
    for unit_id, waiting, oldest in db.session.execute(
        select(Order.unit_id, func.count(), func.min(Order.placed_at))
        .where(Order.unit_id.in_(selling), Order.status == OrderStatus.PLACED)
        .group_by(Order.unit_id)
    ).all():
        if unit_id in digests:
            digests[unit_id].waiting_count = waiting
            digests[unit_id].waiting_since = _local_date(oldest)

    # Products on sale at or below their low-stock threshold, fewest in stock first.
    low = (
        select(
            Product.id.label("product_id"),
            Product.unit_id,
            Product.name,
            Product.stock,
            Product.low_stock_threshold,
            Product.sale_unit,
            func.row_number()
            .over(partition_by=Product.unit_id, order_by=(Product.stock, Product.name, Product.id))
            .label("rank"),
            func.count().over(partition_by=Product.unit_id).label("n"),
        )
        .where(
            Product.unit_id.in_(selling),
            Product.published.is_(True),
            Product.stock <= Product.low_stock_threshold,
        )
        .subquery()
    )
    for row in db.session.execute(
        select(low).where(low.c.rank <= MAX_LISTED).order_by(low.c.unit_id, low.c.rank)
    ).all():
        digest = digests.get(row.unit_id)
        if digest is None:
            continue
        digest.low_stock_count = row.n
        digest.low_stock.append(
            {
                "name": row.name,
                "stock": row.stock,
                "threshold": row.low_stock_threshold,
                "sale_unit": str(row.sale_unit),
                "link": _path("catalog_manage.stock", product_id=row.product_id),
            }
        )

    # Reviews written that day and still shown.
    for unit_id, n in db.session.execute(
        select(Review.unit_id, func.count())
        .where(
            Review.unit_id.in_(selling),
            Review.created_at >= start,
            Review.created_at < end,
            Review.hidden_at.is_(None),
        )
        .group_by(Review.unit_id)
    ).all():
        if unit_id in digests:
            digests[unit_id].new_reviews = n

    return [digests[unit_id] for unit_id in sorted(digests)]


def _local_date(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns an aggregate of timestamps as text
        value = dt.datetime.fromisoformat(value)
    return local_time(value).date()


def digest_key(unit_id: int, day: dt.date) -> str:
    """Return the object key of a unit's digest of `day`: one message per manager and channel, ever."""
    return f"unit:{unit_id}:{day.isoformat()}"


def send_daily_digests(day: dt.date | None = None) -> tuple[int, int]:
    """Owe each manager of each unit with news the digest of `day` (default: yesterday, local).

    Returns (units with news, outbox messages added). Running again for the same day adds nothing.
    Flushes, never commits.
    """
    day = day or previous_local_day()
    told = [digest for digest in build_digests(day) if digest.has_news]
    recipients = []
    for digest in told:
        payload = digest.payload()
        key = digest_key(digest.unit_id, day)
        recipients.extend((manager, payload, key) for manager in digest.managers)
    added = notify_many(Kind.DAILY_DIGEST, recipients)
    return len(told), len(added)
