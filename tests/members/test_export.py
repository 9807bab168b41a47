"""Exporting the register: two sheets a spreadsheet program opens, and a file the import takes back."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from ktt_market.members import services
from ktt_market.members.models import MemberCategory, MemberRole

from .conftest import JOINED

pytestmark = pytest.mark.core


@pytest.fixture
def register(svc, new_member):
    an = new_member("Nguyễn Văn An", phone="0912345678", role=MemberRole.CHAIR)
    binh = new_member("Trần Thị Bình", category=MemberCategory.ASSOCIATE, address="Ấp 2")
    services.record_contribution(an, actor=svc.actor, kind="contributed", amount_vnd=10_000_000, entry_date=JOINED)
    services.record_contribution(
        an, actor=svc.actor, kind="returned", amount_vnd=4_000_000, entry_date=dt.date(2022, 1, 5), note="trả một phần"
    )
    services.mark_left(binh, actor=svc.actor, left_on=dt.date(2023, 3, 1), reason=None)
    return an, binh


def rows(data: bytes, sheet: str) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]


def test_export_has_the_register_and_the_ledger(svc, register):
    data = services.export_register(svc.unit)
    assert load_workbook(io.BytesIO(data)).sheetnames == ["Thành viên", "Vốn góp"]
    people = rows(data, "Thành viên")
    assert people[0] == (
        "Member number",
        "Full name",
        "Phone",
        "Address",
        "Category",
        "Role",
        "Joined on",
        "Left on",
        "Capital balance (VND)",
    )
    assert people[1] == (
        "TV0001",
        "Nguyễn Văn An",
        "0912345678",
        None,
        "Official member",
        "Chair of the board",
        dt.datetime(2021, 3, 1),
        None,
        6_000_000,
    )
    assert people[2][:2] == ("TV0002", "Trần Thị Bình")
    assert people[2][4] == "Associate member"
    assert people[2][7] == dt.datetime(2023, 3, 1)
    assert people[2][8] == 0

    ledger = rows(data, "Vốn góp")
    assert len(ledger) == 3
    assert ledger[1] == (
        "TV0001",
        "Nguyễn Văn An",
        dt.datetime(2021, 3, 1),
        "Contribution",
        10_000_000,
        10_000_000,
        None,
    )
    assert ledger[2] == (
        "TV0001",
        "Nguyễn Văn An",
        dt.datetime(2022, 1, 5),
        "Return of capital",
        -4_000_000,
        6_000_000,
        "trả một phần",
    )


def test_an_empty_register_exports_headers_only(svc):
    data = services.export_register(svc.unit)
    assert len(rows(data, "Thành viên")) == 1
    assert len(rows(data, "Vốn góp")) == 1


def test_the_export_imports_back_unchanged(svc, register):
    plan = services.plan_import(svc.unit, services.export_register(svc.unit))
    assert plan.ok, plan.errors
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (0, 0, 2)


def test_export_filename_is_ascii(svc):
    svc.unit.registration_code = "HTX/Đồng 01"
    assert services.export_filename(svc.unit, dt.date(2025, 7, 1)) == "thanh-vien-HTX-DONG-01-2025-07-01.xlsx"
