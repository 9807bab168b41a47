"""Language, time zone and the display of money and dates.

Vietnamese is the default; English is selectable and remembered per user (or per session).
Money is whole đồng, shown as `150.000 ₫`; dates as dd/mm/yyyy in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo

from babel.numbers import format_currency as babel_format_currency
from flask import Flask, current_app, has_request_context, session
from flask_babel import format_currency, get_locale
from flask_login import current_user

from ..extensions import babel

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def select_locale() -> str:
    # Commands and background tasks have no visitor: they speak the default language.
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    lang = session.get("lang")
    if lang in languages:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def vnd(amount: int | None) -> str:
    """Format whole đồng: `150.000 ₫` in Vietnamese."""
    if amount is None:
        return ""
    amount = int(amount)
    locale = get_locale()
    shape = _vnd_shape(str(locale)) if locale is not None and amount >= 0 else None
    if shape is None:
        return format_currency(amount, "VND", format_type="standard")
    # A listing shows dozens of prices: Babel's pattern machinery per price cost more than the page's queries.
    return _vnd_from_shape(amount, *shape)


def _vnd_from_shape(amount: int, prefix: str, separator: str, suffix: str) -> str:
    digits = f"{amount:,}"
    return f"{prefix}{digits if separator == ',' else digits.replace(',', separator)}{suffix}"


_VND_SAMPLE = re.compile(r"(\D*)1(?P<sep>\D)234(?P=sep)567(\D*)")


@functools.cache
def _vnd_shape(locale: str) -> tuple[str, str, str] | None:
    """Return (prefix, thousands separator, suffix) of whole đồng in `locale`, or None to ask Babel every time."""
    found = _VND_SAMPLE.fullmatch(babel_format_currency(1234567, "VND", locale=locale, format_type="standard"))
    if found is None:
        return None
    shape = found.groups()
    # Trust the shape only where it gives exactly what Babel gives.
    for amount in (0, 7, 999, 1000, 150000, 10**15):
        if _vnd_from_shape(amount, *shape) != babel_format_currency(
            amount, "VND", locale=locale, format_type="standard"
        ):
            return None
    return shape


def date_vn(value: dt.date | dt.datetime | None) -> str:
    """Format a date as dd/mm/yyyy (a datetime is first moved to Vietnam time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local_time(value).date()
    return value.strftime("%d/%m/%Y")


def datetime_vn(value: dt.datetime | None) -> str:
    """Format a UTC datetime as dd/mm/yyyy HH:MM in Vietnam time."""
    if value is None:
        return ""
    return local_time(value).strftime("%d/%m/%Y %H:%M")


def local_time(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VN_TZ)


def local_start(day: dt.date) -> dt.datetime:
    """Return the UTC instant of midnight, Vietnam time, at the start of `day`."""
    return dt.datetime.combine(day, dt.time(), VN_TZ).astimezone(dt.UTC)


def local_year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC instants [start, end) of a calendar year, Vietnam time."""
    return local_start(dt.date(year, 1, 1)), local_start(dt.date(year + 1, 1, 1))


def local_today() -> dt.date:
    """Return today's date in Vietnam."""
    return dt.datetime.now(VN_TZ).date()


def number(value: int | None) -> str:
    """Group thousands the way the current language does (1.234 or 1,234)."""
    if value is None:
        return ""
    sep = "." if str(get_locale()) == "vi" else ","
    return f"{int(value):,}".replace(",", sep)


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    app.jinja_env.filters.update(vnd=vnd, date_vn=date_vn, datetime_vn=datetime_vn, number=number)
    app.jinja_env.globals.update(get_locale=get_locale)
