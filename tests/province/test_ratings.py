"""Ratings per cooperative: average, count, trend, cancellation and complaint rates, grade; pages and access."""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytestmark = pytest.mark.core


def days_ago(n: int, hours: int = 12) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=n, hours=hours)


@pytest.fixture
def review(app, make_user, make_product, make_order):
    """Write a review of `unit` rated `stars`, `age` days old (reported or hidden when told)."""
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    buyer = make_user()

    def make(unit, stars: int, age: int, *, reported: bool = False, hidden: bool = False):
        product = make_product(unit)
        order = make_order(unit, buyer, [(product, 1)], placed_at=days_ago(age + 5))
        when = days_ago(age)
        with app.app_context():
            db.session.add(
                Review(
                    order_line_id=order.line_ids[0],
                    product_id=product.id,
                    unit_id=unit.id,
                    buyer_id=buyer.id,
                    product_rating=stars,
                    unit_rating=stars,
                    created_at=when,
                    reported_at=when if reported else None,
                    hidden_at=when if hidden else None,
                )
            )
            db.session.commit()

    return make


@pytest.fixture
def rated(app, make_unit, review, make_user, make_product, make_order):
    """`good`: reviews for rating and trend; `busy`: orders for the cancellation rate, no reviews."""
    from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
    from ktt_market.extensions import db
    from ktt_market.orders.models import OrderStatus

    good = make_unit(name="HTX Đánh giá")
    review(good, 5, 10)
    review(good, 4, 20)  # last 90 days: 4.5
    review(good, 2, 120)  # the 90 before: 2.0 (a complaint)
    review(good, 3, 200, reported=True)  # in the year, reported: a complaint
    review(good, 1, 150, hidden=True)  # hidden: out of the average, still a complaint
    review(good, 1, 400)  # older than a year: in the average only
    busy = make_unit(name="HTX Bận")
    buyer = make_user()
    product = make_product(busy)
    for status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.PLACED, OrderStatus.CANCELLED):
        make_order(busy, buyer, [(product, 1)], status=status, placed_at=days_ago(30))
    make_order(busy, buyer, [(product, 1)], status=OrderStatus.PENDING_PAYMENT, placed_at=days_ago(1))
    make_order(busy, buyer, [(product, 1)], status=OrderStatus.CANCELLED, placed_at=days_ago(400))
    make_unit(name="HTX Chưa bán")  # approved, nothing yet
    make_unit(name="HTX Ngoài tỉnh", ward_code=30292)
    with app.app_context():
        db.session.add_all(
            [
                Assessment(unit_id=good.id, year=2023, rubric_id=1, status=AssessmentStatus.FINAL, grade=Grade.FAIR),
                Assessment(unit_id=good.id, year=2024, rubric_id=1, status=AssessmentStatus.IMPORTED, grade=Grade.GOOD),
                Assessment(unit_id=good.id, year=2025, rubric_id=1, status=AssessmentStatus.SUBMITTED),
            ]
        )
        db.session.commit()
    return dict(good=good, busy=busy)


def test_formulas(app, rated):
    from ktt_market.classification.models import Grade
    from ktt_market.core.i18n import local_today
    from ktt_market.province.ratings import province_ratings

    with app.app_context():
        rows = {r.unit.name: r for r in province_ratings(86, today=local_today())}
    assert set(rows) == {"HTX Đánh giá", "HTX Bận", "HTX Chưa bán"}
    good = rows["HTX Đánh giá"]
    assert (good.average, good.count) == (3.0, 5)  # 5, 4, 2, 3, 1: the hidden one left out
    assert (good.recent, good.previous, good.trend) == (4.5, 2.0, 2.5)
    assert (good.complaints, good.reviews, good.complaint_rate) == (3, 5, 60.0)
    assert (good.grade, good.grade_year) == (Grade.GOOD, 2024)  # the submitted 2025 one does not count
    busy = rows["HTX Bận"]
    assert (busy.cancelled, busy.orders, busy.cancellation_rate) == (1, 4, 25.0)
    assert busy.average is None and busy.trend is None and busy.complaint_rate is None
    quiet = rows["HTX Chưa bán"]
    assert quiet.cancellation_rate is None and quiet.grade is None


def test_sorting(app, rated):
    from ktt_market.core.i18n import local_today
    from ktt_market.province.ratings import province_ratings

    with app.app_context():
        by = {
            s: [r.unit.name for r in province_ratings(86, today=local_today(), sort=s)]
            for s in ("rating", "cancellations", "complaints")
        }
    assert by["rating"][0] == "HTX Đánh giá"
    assert by["cancellations"][0] == "HTX Bận"
    assert by["complaints"][0] == "HTX Đánh giá"


def test_list_page(client, login, make_user, rated):
    login(client, make_user("officer", province_code=86))
    response = client.get("/province/ratings?sort=cancellations")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    names = re.findall(r'<th scope="row"><a href="/province/ratings/\d+">([^<]+)</a>', page)
    assert names[0] == "HTX Bận" and "HTX Ngoài tỉnh" not in names
    assert "25,0%" in page and "60,0%" in page  # Vietnamese decimals
    assert 'aria-sort="descending"' in page
    assert "style=" not in page


def test_unit_panel(client, login, make_user, rated):
    login(client, make_user("officer", province_code=86))
    response = client.get(f"/province/ratings/{rated['good'].id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3,00" in page and "+2,50" in page and "60,0%" in page
    assert page.count("<svg") == 1 and 'role="img"' in page
    assert "2024" in page and "2023" in page


def test_access(client, login, make_user, make_unit, rated):
    other = make_unit(name="HTX Khác", ward_code=30292)
    login(client, make_user("officer", province_code=86))
    assert client.get(f"/province/ratings/{other.id}").status_code == 404
    assert client.get("/province/ratings?province=91").status_code == 404
    admin = client.application.test_client()
    login(admin, make_user("admin"))
    assert admin.get(f"/province/ratings/{other.id}").status_code == 200
    assert "HTX Khác" in admin.get("/province/ratings?province=91").get_data(as_text=True)
    buyer = client.application.test_client()
    login(buyer, make_user())
    assert buyer.get("/province/ratings").status_code == 403
