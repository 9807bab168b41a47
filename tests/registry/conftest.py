"""Registry fixtures: officers of two provinces, an admin, and registry files built in the test."""

from __future__ import annotations

import csv
import io

import pytest

from ktt_market.core import places

PROVINCE = 86  # Vĩnh Long
WARD = 29242  # Phường Trà Vinh, Vĩnh Long
OTHER_PROVINCE = 79  # Thành phố Hồ Chí Minh
OTHER_WARD = next(iter(places.wards_of(OTHER_PROVINCE)))
HEADER = [
    "registration_code",
    "name",
    "kind",
    "sector",
    "founded_on",
    "stopped_on",
    "dissolved_on",
    "ward_code",
    "members",
    "charter_capital_vnd",
]


def row(code: str, **fields) -> dict[str, str]:
    """One good registry row; override any column."""
    values = {
        "registration_code": code,
        "name": f"Hợp tác xã {code}",
        "kind": "HTX",
        "sector": "agriculture",
        "founded_on": "2019-03-01",
        "stopped_on": "",
        "dissolved_on": "",
        "ward_code": str(WARD),
        "members": "12",
        "charter_capital_vnd": "250000000",
    }
    values.update({k: str(v) for k, v in fields.items()})
    return values


def csv_bytes(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    header = header or HEADER
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict[str, str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append([r[c] for c in HEADER])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def make_user(make_user):
    """Users who read English: tests assert messages in English, which keep holding once Vietnamese is filled in."""

    def make(role="buyer", province_code=None, **fields):
        fields.setdefault("locale", "en")
        return make_user(role, province_code, **fields)

    return make


@pytest.fixture(autouse=True)
def _english_services(request):
    """Run service calls (the `ctx` fixture) in English, for the same reason."""
    if "ctx" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=PROVINCE)


@pytest.fixture
def other_officer(make_user):
    return make_user("officer", province_code=OTHER_PROVINCE)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def buyer(make_user):
    return make_user()
