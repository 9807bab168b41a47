"""The cooperative's balance and statement pages: what they show, the month filter, the XLSX, and who may see them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from ktt_market.accounts.models import Role
from ktt_market.core.i18n import local_today
from ktt_market.payments.models import EntryKind

pytestmark = pytest.mark.core

VN = dt.timezone(dt.timedelta(hours=7))


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def owner(ledger_coop, make_staff, make_user):
    return make_staff(ledger_coop, make_user(full_name="Trần Văn Bưởi", locale="en"))


@pytest.fixture
def november(ledger_coop, ledger_entry_at):
    """October: one sale; November: a sale with its fee, a part refund with its fee back, a payout."""
    ledger_entry_at(ledger_coop, EntryKind.SALE, 100_000, dt.datetime(2026, 10, 20, 10, 0, tzinfo=VN), "t:1")
    ledger_entry_at(ledger_coop, EntryKind.SALE, 370_000, dt.datetime(2026, 11, 3, 9, 15, tzinfo=VN), "t:2")
    ledger_entry_at(ledger_coop, EntryKind.FEE, -11_100, dt.datetime(2026, 11, 3, 9, 15, 1, tzinfo=VN), "t:3")
    ledger_entry_at(ledger_coop, EntryKind.REFUND, -70_000, dt.datetime(2026, 11, 9, 8, 0, tzinfo=VN), "t:4")
    ledger_entry_at(ledger_coop, EntryKind.FEE_REFUND, 2_100, dt.datetime(2026, 11, 9, 8, 0, 1, tzinfo=VN), "t:5")
    ledger_entry_at(ledger_coop, EntryKind.PAYOUT, -300_000, dt.datetime(2026, 11, 30, 16, 0, tzinfo=VN), "t:6")


def test_statement_shows_balance_totals_and_running_balance(client, login, owner, ledger_coop, november):
    login(client, owner)
    response = client.get(f"/ledger/units/{ledger_coop.id}?month=2026-11")
    assert response.status_code == 200
    html = page(response)
    assert "Balance and statement of HTX Bưởi Trà Vinh" in html
    assert "91,000" in html  # the balance now: 100.000 + 370.000 − 11.100 − 70.000 + 2.100 − 300.000
    assert "From 01/11/2026 to 30/11/2026" in html
    for text in ("₫100,000", "+₫370,000", "-₫11,100", "-₫70,000", "+₫2,100", "-₫300,000"):
        assert text in html, text
    assert "03/11/2026 09:15" in html  # Vietnam time
    # Running balance after each line, from the October opening balance.
    for running in ("470,000", "458,900", "388,900", "391,000"):
        assert running in html, running
    assert 'type="month"' in html and 'value="2026-11"' in html
    assert f"/ledger/units/{ledger_coop.id}/export?month=2026-11" in html


def test_order_numbers_link_to_the_cooperatives_order_page(client, login, owner, ledger_coop, ledger_sale):
    sale = ledger_sale(ledger_coop, 80_001)
    login(client, owner)
    html = page(client.get(f"/ledger/units/{ledger_coop.id}"))
    assert f'href="/orders/units/{ledger_coop.id}/{sale.order_id}">{sale.number}</a>' in html
    assert "Collected for a sale" in html and "Platform fee" in html
    assert "+₫80,001" in html and "-₫2,400" in html and "77,601" in html


def test_default_month_is_this_month(client, login, owner, ledger_coop):
    login(client, owner)
    html = page(client.get(f"/ledger/units/{ledger_coop.id}"))
    assert f'value="{local_today():%Y-%m}"' in html
    assert "Nothing was booked in this month." in html


def test_a_bad_month_gets_a_message_beside_the_field(client, login, owner, ledger_coop):
    login(client, owner)
    response = client.get(f"/ledger/units/{ledger_coop.id}?month=tháng-mười")
    assert response.status_code == 200
    html = page(response)
    assert "Choose a month from the calendar" in html
    assert 'aria-invalid="true"' in html


def test_export_the_months_statement(client, login, owner, ledger_coop, november):
    login(client, owner)
    response = client.get(f"/ledger/units/{ledger_coop.id}/export?month=2026-11")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (
        "so-cai-" in response.headers["Content-Disposition"]
        and "2026-11.xlsx" in response.headers["Content-Disposition"]
    )
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Date", "Kind")
    assert rows[1][1] == "Opening balance" and rows[1][5] == 100_000
    assert [r[4] for r in rows[2:-1]] == [370_000, -11_100, -70_000, 2_100, -300_000]
    assert [r[5] for r in rows[2:-1]] == [470_000, 458_900, 388_900, 391_000, 91_000]
    assert rows[2][0] == dt.datetime(2026, 11, 3, 9, 15)
    assert rows[-1][1] == "Closing balance" and rows[-1][5] == 91_000


def test_unit_page_links_to_the_ledger(client, login, owner, ledger_coop):
    login(client, owner)
    html = page(client.get(f"/registry/units/{ledger_coop.id}"))
    assert f'href="/ledger/units/{ledger_coop.id}"' in html


# ---------------------------------------------------------------- who may see it


@pytest.mark.parametrize("path", ["/ledger/units/{id}", "/ledger/units/{id}/export?month=2026-11"])
def test_outsiders_get_404(client, login, make_user, make_unit, make_staff, ledger_coop, november, path):
    url = path.format(id=ledger_coop.id)
    other_staff = make_staff(make_unit(name="HTX Khác"), make_user(locale="en"))
    for outsider in (
        other_staff,
        make_user(role=Role.OFFICER, province_code=79, locale="en"),  # another province
        make_user(locale="en"),  # a buyer
    ):
        fresh = client.application.test_client()
        login(fresh, outsider)
        assert fresh.get(url).status_code == 404, outsider.email


def test_an_unknown_unit_is_404(client, login, make_user):
    login(client, make_user(role=Role.ADMIN, locale="en"))
    assert client.get("/ledger/units/999999").status_code == 404


def test_visitors_are_sent_to_log_in(client, ledger_coop):
    response = client.get(f"/ledger/units/{ledger_coop.id}")
    assert response.status_code == 302 and "/account/login" in response.location


@pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN])
def test_officers_of_the_province_and_admins_read_it(client, login, make_user, ledger_coop, ledger_sale, role):
    sale = ledger_sale(ledger_coop, 80_001)
    login(client, make_user(role=role, province_code=86 if role is Role.OFFICER else None, locale="en"))
    response = client.get(f"/ledger/units/{ledger_coop.id}")
    assert response.status_code == 200
    html = page(response)
    assert "77,601" in html
    # The number, but no link to an order page only the cooperative may open.
    assert sale.number in html and f"/orders/units/{ledger_coop.id}/{sale.order_id}" not in html
    assert client.get(f"/ledger/units/{ledger_coop.id}/export").status_code == 200


def test_later_pages_carry_the_running_balance_on(client, login, owner, ledger_coop, ledger_entry_at, monkeypatch):
    from ktt_market.payments import ledger_views

    monkeypatch.setattr(ledger_views, "PER_PAGE", 2)
    for day in range(1, 6):
        when = dt.datetime(2026, 11, day, 12, 0, tzinfo=VN)
        ledger_entry_at(ledger_coop, EntryKind.SALE, day * 1_000, when, f"t:{day}")
    login(client, owner)
    html = page(client.get(f"/ledger/units/{ledger_coop.id}?month=2026-11&page=2"))
    # Page 2 holds the 3rd and 4th sales: 1.000 + 2.000 before them.
    assert "₫6,000" in html and "₫10,000" in html
    assert "03/11/2026 12:00" in html and "01/11/2026 12:00" not in html
    assert 'rel="next"' in html and "page=3" in html and "month=2026-11" in html
