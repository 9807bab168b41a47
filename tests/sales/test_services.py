"""Sales figures: weeks and months in Vietnam time, what counts as a sale, best sellers, low stock."""

from __future__ import annotations

import datetime as dt

import pytest

from ktt_market.orders.models import OrderStatus
from ktt_market.sales import services
from ktt_market.sales.services import Bucket, Period

pytestmark = pytest.mark.core

UTC = dt.UTC


def at(y, m, d, hh=3, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=UTC)


@pytest.fixture
def coconut(make_product, unit):
    return make_product(unit, name="Dừa sáp", price_vnd=100_000)


@pytest.fixture
def candy(make_product, unit):
    return make_product(unit, name="Kẹo dừa", price_vnd=20_000)


def test_weeks_and_months_count_sold_orders_only(ctx, make_order, unit, buyer, coconut):
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.PLACED, placed_at=at(2026, 3, 2))  # Monday
    make_order(unit, buyer, [(coconut, 2)], status=OrderStatus.DELIVERED, placed_at=at(2026, 3, 8))  # Sunday
    make_order(unit, buyer, [(coconut, 3)], status=OrderStatus.COMPLETED, placed_at=at(2026, 3, 9))  # next Monday
    make_order(unit, buyer, [(coconut, 4)], status=OrderStatus.SHIPPED, placed_at=at(2026, 4, 20))
    make_order(unit, buyer, [(coconut, 9)], status=OrderStatus.CANCELLED, placed_at=at(2026, 3, 3))
    make_order(unit, buyer, [(coconut, 9)], status=OrderStatus.REFUNDED, placed_at=at(2026, 3, 4))
    make_order(unit, buyer, [(coconut, 9)], status=OrderStatus.PENDING_PAYMENT, placed_at=at(2026, 3, 5))

    period = Period(dt.date(2026, 3, 1), dt.date(2026, 4, 30))
    months = services.sales_table(unit.id, period, by="month")
    assert months == [
        Bucket(dt.date(2026, 3, 1), dt.date(2026, 3, 31), 3, 600_000),
        Bucket(dt.date(2026, 4, 1), dt.date(2026, 4, 30), 1, 400_000),
    ]
    weeks = services.sales_table(unit.id, period, by="week")
    assert weeks[0] == Bucket(dt.date(2026, 3, 1), dt.date(2026, 3, 1), 0, 0)  # Sunday: the week is cut to the period
    assert weeks[1] == Bucket(dt.date(2026, 3, 2), dt.date(2026, 3, 8), 2, 300_000)
    assert weeks[2] == Bucket(dt.date(2026, 3, 9), dt.date(2026, 3, 15), 1, 300_000)
    assert [w.start for w in weeks if w.orders] == [dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 4, 20)]
    assert weeks[-1].end == dt.date(2026, 4, 30)
    assert sum(w.revenue_vnd for w in weeks) == sum(m.revenue_vnd for m in months) == 1_000_000


def test_days_are_vietnam_days(ctx, make_order, unit, buyer, coconut):
    # 18:30 UTC on 31 March is 01:30 on 1 April in Vietnam; 16:59 UTC is still 23:59 on 31 March.
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.PLACED, placed_at=at(2026, 3, 31, 18, 30))
    make_order(unit, buyer, [(coconut, 2)], status=OrderStatus.PLACED, placed_at=at(2026, 3, 31, 16, 59))
    months = services.sales_table(unit.id, Period(dt.date(2026, 3, 1), dt.date(2026, 4, 30)), by="month")
    assert [(m.start.month, m.orders, m.revenue_vnd) for m in months] == [(3, 1, 200_000), (4, 1, 100_000)]
    # A period of 1 April alone catches the late-evening order and not the other.
    april_first = services.sales_table(unit.id, Period(dt.date(2026, 4, 1), dt.date(2026, 4, 1)), by="month")
    assert [(m.orders, m.revenue_vnd) for m in april_first] == [(1, 100_000)]
    assert services.daily_sales(unit.id, Period(dt.date(2026, 3, 31), dt.date(2026, 4, 1))) == {
        dt.date(2026, 3, 31): (1, 200_000),
        dt.date(2026, 4, 1): (1, 100_000),
    }


def test_other_units_do_not_count(ctx, make_order, make_unit, make_product, unit, buyer, coconut):
    other = make_unit()
    make_order(other, buyer, [(make_product(other), 5)], placed_at=at(2026, 3, 10))
    make_order(unit, buyer, [(coconut, 1)], placed_at=at(2026, 3, 10))
    months = services.sales_table(unit.id, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), by="month")
    assert [(m.orders, m.revenue_vnd) for m in months] == [(1, 100_000)]


def test_empty_periods_have_rows_of_zero(ctx, unit):
    months = services.sales_table(unit.id, Period(dt.date(2025, 11, 15), dt.date(2026, 2, 3)), by="month")
    assert [(m.start, m.end, m.orders) for m in months] == [
        (dt.date(2025, 11, 15), dt.date(2025, 11, 30), 0),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31), 0),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31), 0),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 3), 0),
    ]


def test_default_periods():
    today = dt.date(2026, 4, 15)  # a Wednesday
    assert services.default_weeks(today) == Period(dt.date(2026, 1, 26), today)
    assert services.default_months(today) == Period(dt.date(2025, 5, 1), today)
    assert services.default_months(dt.date(2026, 12, 31)).start == dt.date(2026, 1, 1)


def test_best_sellers_by_quantity_and_by_revenue(ctx, make_order, make_product, unit, buyer, coconut, candy):
    jam = make_product(unit, name="Mứt dừa", price_vnd=60_000)
    make_order(unit, buyer, [(coconut, 2), (candy, 5)], placed_at=at(2026, 3, 10))
    make_order(unit, buyer, [(candy, 4), (jam, 3)], status=OrderStatus.COMPLETED, placed_at=at(2026, 3, 20))
    make_order(unit, buyer, [(coconut, 50)], status=OrderStatus.CANCELLED, placed_at=at(2026, 3, 21))
    make_order(unit, buyer, [(jam, 40)], placed_at=at(2026, 5, 1))  # outside the period
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))

    by_quantity = services.best_sellers(unit.id, period, by="quantity")
    assert [(b.name, b.quantity, b.revenue_vnd) for b in by_quantity] == [
        ("Kẹo dừa", 9, 180_000),
        ("Mứt dừa", 3, 180_000),
        ("Dừa sáp", 2, 200_000),
    ]
    by_revenue = services.best_sellers(unit.id, period, by="revenue")
    assert [b.name for b in by_revenue] == ["Dừa sáp", "Kẹo dừa", "Mứt dừa"]
    assert [b.name for b in services.best_sellers(unit.id, period, by="revenue", limit=1)] == ["Dừa sáp"]


def test_best_sellers_are_ten_at_most(ctx, make_order, make_product, unit, buyer):
    products = [make_product(unit, price_vnd=10_000) for _ in range(12)]
    make_order(unit, buyer, [(p, i + 1) for i, p in enumerate(products)], placed_at=at(2026, 3, 10))
    top = services.best_sellers(unit.id, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert [b.quantity for b in top] == list(range(12, 2, -1))


def test_low_stock_lists_published_products_at_or_below_their_level(ctx, make_product, unit, make_unit):
    empty = make_product(unit, name="Hết hàng", stock=0, low_stock_threshold=5)
    at_level = make_product(unit, name="Vừa đủ", stock=5, low_stock_threshold=5)
    make_product(unit, name="Còn nhiều", stock=6, low_stock_threshold=5)
    make_product(unit, name="Chưa bán", stock=0, published=False)
    make_product(make_unit(), name="Đơn vị khác", stock=0)
    assert [p.id for p in services.low_stock(unit.id)] == [empty.id, at_level.id]


def test_status_counts_cover_every_status(ctx, make_order, unit, buyer, coconut):
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.PLACED, placed_at=at(2026, 3, 10))
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.PLACED, placed_at=at(2026, 3, 11))
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.CANCELLED, placed_at=at(2026, 3, 12))
    make_order(unit, buyer, [(coconut, 1)], status=OrderStatus.PLACED, placed_at=at(2026, 6, 1))
    counts = services.status_counts(unit.id, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert counts[OrderStatus.PLACED] == 2
    assert counts[OrderStatus.CANCELLED] == 1
    assert counts[OrderStatus.DELIVERED] == 0
    assert set(counts) == set(OrderStatus)
