"""Money, dates and numbers as a Vietnamese (or English) reader sees them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from ktt_market.core.i18n import date_vn, datetime_vn, local_time, number, vnd

pytestmark = pytest.mark.core


def seen(text: str) -> str:
    """Return text as a reader sees it: a non-breaking space looks like a space."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_vnd_in_vietnamese(ctx):
    with force_locale("vi"):
        assert seen(vnd(150000)) == "150.000 ₫"
        assert seen(vnd(1_234_567_890)) == "1.234.567.890 ₫"
        assert seen(vnd(0)) == "0 ₫"
        assert vnd(None) == ""


def test_vnd_keeps_amount_and_currency_on_one_line(ctx):
    # Babel puts a non-breaking space before the sign, so "₫" never wraps away from its amount.
    with force_locale("vi"):
        assert vnd(150000) == "150.000\xa0₫"


def test_vnd_has_no_decimals(ctx):
    with force_locale("vi"):
        assert "," not in vnd(150000)
    with force_locale("en"):
        assert seen(vnd(150000)) in ("₫150,000", "VND 150,000", "₫ 150,000")


def test_vnd_filter_in_a_template(app, ctx):
    from flask import render_template_string

    with force_locale("vi"):
        assert seen(render_template_string("{{ 2500000|vnd }}")) == "2.500.000 ₫"


def test_number_groups_thousands_by_language(ctx):
    with force_locale("vi"):
        assert number(1234567) == "1.234.567"
    with force_locale("en"):
        assert number(1234567) == "1,234,567"
    assert number(None) == ""


def test_date_vn_is_day_month_year():
    assert date_vn(dt.date(2025, 7, 1)) == "01/07/2025"
    assert date_vn(None) == ""


def test_date_vn_of_a_datetime_uses_vietnam_date():
    # 20:00 UTC on 30 June is already 1 July in Vietnam (UTC+7).
    assert date_vn(dt.datetime(2025, 6, 30, 20, 0, tzinfo=dt.UTC)) == "01/07/2025"


def test_datetime_vn_converts_utc_to_ho_chi_minh_time():
    assert datetime_vn(dt.datetime(2025, 12, 31, 17, 30, tzinfo=dt.UTC)) == "01/01/2026 00:30"
    assert datetime_vn(None) == ""


def test_datetime_vn_treats_naive_values_as_utc():
    assert datetime_vn(dt.datetime(2025, 1, 1, 1, 5)) == "01/01/2025 08:05"


def test_local_time_is_in_ho_chi_minh():
    value = local_time(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert value.tzinfo == ZoneInfo("Asia/Ho_Chi_Minh")
    assert value.hour == 7
