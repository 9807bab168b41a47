"""The sales page and its CSV: who may read it, what it shows, and the period a user picks."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from ktt_market.orders.models import OrderStatus

pytestmark = pytest.mark.core

MARCH_APRIL = "start=2026-03-01&end=2026-04-30"


@pytest.fixture
def sales(make_order, make_product, unit, buyer):
    """Three sold orders in March and April 2026 (one on the evening of 31 March UTC), one cancelled; low stock."""
    coconut = make_product(unit, name="Dừa sáp", price_vnd=100_000, stock=2, low_stock_threshold=5)
    make_order(unit, buyer, [(coconut, 1)], placed_at=dt.datetime(2026, 3, 10, 3, tzinfo=dt.UTC))
    make_order(unit, buyer, [(coconut, 2)], placed_at=dt.datetime(2026, 3, 31, 18, 30, tzinfo=dt.UTC))
    make_order(
        unit, buyer, [(coconut, 3)], status=OrderStatus.COMPLETED, placed_at=dt.datetime(2026, 4, 5, tzinfo=dt.UTC)
    )
    make_order(
        unit, buyer, [(coconut, 7)], status=OrderStatus.CANCELLED, placed_at=dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
    )
    return coconut


def test_staff_see_their_sales(client, login, owner, unit, sales):
    login(client, owner)
    response = client.get(f"/sales/units/{unit.id}/?{MARCH_APRIL}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Dừa sáp" in html  # best seller and low stock
    assert "<meter" in html
    assert "style=" not in html  # CSP: no inline styles
    assert "03/2026" in html and "04/2026" in html


def test_monthly_csv_puts_the_late_march_order_in_april(client, login, owner, unit, sales):
    login(client, owner)
    response = client.get(f"/sales/units/{unit.id}/sales-month.csv?{MARCH_APRIL}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        ["From", "To", "Orders", "Revenue (đồng)"],
        ["2026-03-01", "2026-03-31", "1", "100000"],
        ["2026-04-01", "2026-04-30", "2", "500000"],
    ]


def test_weekly_csv(client, login, owner, unit, sales):
    login(client, owner)
    response = client.get(f"/sales/units/{unit.id}/sales-week.csv?{MARCH_APRIL}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    assert rows[0][:2] == ["2026-03-01", "2026-03-01"]
    assert sum(int(r[2]) for r in rows) == 3
    assert sum(int(r[3]) for r in rows) == 600_000
    assert ["2026-03-30", "2026-04-05", "2", "500000"] in rows


def test_default_period_is_the_last_twelve_weeks_and_months(client, login, owner, unit):
    from ktt_market.core.i18n import local_today
    from ktt_market.sales.services import default_months, default_weeks

    login(client, owner)
    weekly = client.get(f"/sales/units/{unit.id}/sales-week.csv").get_data(as_text=True).splitlines()
    monthly = client.get(f"/sales/units/{unit.id}/sales-month.csv").get_data(as_text=True).splitlines()
    assert len(weekly) == 1 + 12
    assert len(monthly) == 1 + 12
    assert weekly[1].startswith(default_weeks().start.isoformat())
    assert monthly[1].startswith(default_months().start.isoformat())
    assert monthly[-1].split(",")[1] == local_today().isoformat()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-04-30&end=2026-03-01", "The end cannot be before the start."),
        ("start=2020-01-01&end=2026-03-01", "at most three years"),
        ("start=hôm-qua", "Not a valid date value."),
    ],
)
def test_a_bad_period_is_explained_and_the_defaults_shown(client, login, owner, unit, query, message):
    login(client, owner)
    response = client.get(f"/sales/units/{unit.id}/?{query}")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_officer_of_the_province_may_read(client, login, make_user, unit, sales):
    login(client, make_user("officer", province_code=unit.province_code))
    assert client.get(f"/sales/units/{unit.id}/").status_code == 200
    assert client.get(f"/sales/units/{unit.id}/sales-month.csv").status_code == 200


@pytest.mark.parametrize("who", ["staff_of_b", "officer_elsewhere", "buyer"])
def test_outsiders_get_404(client, login, make_user, make_unit, make_staff, unit, buyer, who):
    user = {
        "staff_of_b": lambda: make_staff(make_unit()),
        "officer_elsewhere": lambda: make_user("officer", province_code=79),
        "buyer": lambda: buyer,
    }[who]()
    login(client, user)
    assert client.get(f"/sales/units/{unit.id}/").status_code == 404
    assert client.get(f"/sales/units/{unit.id}/sales-week.csv").status_code == 404


def test_unknown_table_or_unit_is_404(client, login, owner, unit):
    login(client, owner)
    assert client.get(f"/sales/units/{unit.id}/sales-year.csv").status_code == 404
    assert client.get("/sales/units/999999/").status_code == 404


def test_visitors_are_sent_to_login(client, unit):
    response = client.get(f"/sales/units/{unit.id}/")
    assert response.status_code == 302
    assert "/account/login" in response.location
