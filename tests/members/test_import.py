"""Importing a register from CSV or XLSX: all rows or none, keyed by member number."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from ktt_market.core.i18n import local_today
from ktt_market.extensions import db
from ktt_market.members import services
from ktt_market.members.models import CapitalEntry, CapitalEntryKind, Member, MemberCategory, MemberRole

pytestmark = pytest.mark.core

HEADER = "code,full_name,phone,address,category,role,joined_on,left_on,capital_vnd"
GOOD = "\n".join(
    [
        HEADER,
        "TV0001,Nguyễn Văn An,0912345678,Ấp 1,official,chair,2021-03-01,,10000000",
        "TV0002,Trần Thị Bình,+84 987 654 321,,associate,member,2021-04-15,2023-01-10,",
        "TV0003,Lê Văn Chi,,Ấp 2,,supervisory,15/05/2022,,2.500.000",
    ]
).encode()


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def members(unit) -> dict[str, Member]:
    db.session.expire_all()
    return {m.code: m for m in db.session.query(Member).filter_by(unit_id=unit.id)}


def test_good_csv_creates_members_with_opening_capital(svc):
    plan = services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (3, 0, 0)
    got = members(svc.unit)
    an, binh, chi = got["TV0001"], got["TV0002"], got["TV0003"]
    assert (an.full_name, an.phone, an.role, an.category) == (
        "Nguyễn Văn An",
        "0912345678",
        MemberRole.CHAIR,
        MemberCategory.OFFICIAL,
    )
    assert (binh.phone, binh.category, binh.left_on) == ("0987654321", MemberCategory.ASSOCIATE, dt.date(2023, 1, 10))
    assert (chi.category, chi.joined_on) == (MemberCategory.OFFICIAL, dt.date(2022, 5, 15))
    entries = db.session.query(CapitalEntry).order_by(CapitalEntry.amount_vnd).all()
    assert [(e.member_id, e.kind, e.amount_vnd, e.entry_date) for e in entries] == [
        (chi.id, CapitalEntryKind.CONTRIBUTED, 2_500_000, dt.date(2022, 5, 15)),
        (an.id, CapitalEntryKind.CONTRIBUTED, 10_000_000, dt.date(2021, 3, 1)),
    ]
    assert services.unit_capital(svc.unit) == 12_500_000


def test_good_xlsx_with_vietnamese_labels_and_date_cells(svc):
    data = xlsx_bytes(
        [
            ["Mã thành viên", "Họ và tên", "Loại thành viên", "Chức vụ", "Ngày vào", "Vốn góp"],
            ["TV0001", "Nguyễn Văn An", "Chính thức", "Giám đốc", dt.date(2021, 3, 1), 5_000_000],
            ["TV0002", "Trần Thị Bình", "Liên kết", "Kiểm soát viên", dt.datetime(2022, 1, 2), None],
            [None, None, None, None, None, None],  # a blank line is no row
        ]
    )
    plan = services.import_members(svc.unit, actor=svc.actor, data=data)
    assert len(plan.new) == 2
    got = members(svc.unit)
    assert (got["TV0001"].role, got["TV0001"].joined_on) == (MemberRole.DIRECTOR, dt.date(2021, 3, 1))
    assert (got["TV0002"].category, got["TV0002"].role) == (MemberCategory.ASSOCIATE, MemberRole.SUPERVISORY)
    assert services.unit_capital(svc.unit) == 5_000_000


def test_reimporting_the_same_file_changes_nothing(svc):
    services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    before = {code: (m.updated_at, m.full_name) for code, m in members(svc.unit).items()}
    plan = services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (0, 0, 3)
    assert not plan.has_changes
    assert {code: (m.updated_at, m.full_name) for code, m in members(svc.unit).items()} == before
    assert db.session.query(CapitalEntry).count() == 2  # no second opening contribution


def test_changed_rows_update_their_members(svc):
    services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    changed = csv_bytes(
        "tv0001,Nguyễn Văn An,0912345678,Ấp 5,official,director,2021-03-01,,10000000",
        "TV0002,Trần Thị Bình,0987654321,,associate,member,2021-04-15,,",  # back in the register
        "TV0004,Phạm Dũng,,,,,2024-02-02,,",
    )
    plan = services.import_members(svc.unit, actor=svc.actor, data=changed)
    assert (len(plan.new), len(plan.changed), plan.unchanged) == (1, 2, 0)
    assert sorted(plan.changed[0].fields) == ["address", "role"]
    got = members(svc.unit)
    assert (got["TV0001"].address, got["TV0001"].role) == ("Ấp 5", MemberRole.DIRECTOR)
    assert got["TV0002"].left_on is None
    assert got["TV0003"].full_name == "Lê Văn Chi"  # not in the file: untouched
    assert got["TV0004"].role is MemberRole.MEMBER


def test_columns_absent_from_the_file_are_left_alone(svc):
    services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    plan = services.import_members(
        svc.unit, actor=svc.actor, data=csv_bytes("TV0001,Nguyễn Văn An,2021-03-01", header="code,full_name,joined_on")
    )
    assert plan.unchanged == 1
    assert members(svc.unit)["TV0001"].phone == "0912345678"


TOMORROW = (local_today() + dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("TV0009,,,,,,2021-01-01,,", "row 3: the full name is missing"),
        (",Vô Danh,,,,,2021-01-01,,", "row 3: the member number (code) is missing"),
        ("TV0009,Hà,,,,,2021-13-01,,", "row 3: “2021-13-01” is not a date"),
        ("TV0009,Hà,,,,,01.02.2021,,", "row 3: “01.02.2021” is not a date"),
        ("TV0009,Hà,,,,,,,", "row 3: the joining date is missing"),
        (f"TV0009,Hà,,,,,{TOMORROW},,", "row 3: the date"),
        ("TV0009,Hà,,,vip,,2021-01-01,,", "row 3: unknown category “vip”"),
        ("TV0009,Hà,,,,boss,2021-01-01,,", "row 3: unknown role “boss”"),
        ("tv0001,Hà,,,,,2021-01-01,,", "row 3: the member number TV0001 is also on row 2"),
        ("TV0009,Hà,,,,,2021-05-01,2021-04-30,", "row 3: left on 30/04/2021, before joining on 01/05/2021"),
        ("TV0009,Hà,12345,,,,2021-01-01,,", "row 3: “12345” is not a Vietnamese phone number"),
        ("TV0009,Hà,,,,,2021-01-01,,-500", "row 3: the capital cannot be negative"),
        ("TV0009,Hà,,,,,2021-01-01,,nhiều", "row 3: the capital “nhiều” is not a whole number"),
    ],
)
def test_each_bad_row_is_reported_with_its_number_and_nothing_is_written(svc, row, message):
    data = csv_bytes("TV0001,Nguyễn Văn An,,,,,2021-03-01,,1000000", row)
    with pytest.raises(services.MemberImportRejected) as err:
        services.import_members(svc.unit, actor=svc.actor, data=data)
    assert any(e.startswith(message) for e in err.value.errors), err.value.errors
    assert all(e.startswith("row 3:") for e in err.value.errors)
    db.session.rollback()
    assert db.session.query(Member).count() == 0
    assert db.session.query(CapitalEntry).count() == 0


def test_every_bad_row_is_listed(svc):
    data = csv_bytes("TV0001,,,,,,2021-01-01,,", "TV0002,Bình,,,,,hôm qua,,", "TV0003,Chi,,,,,2021-01-01,,")
    plan = services.plan_import(svc.unit, data)
    assert [e.split(":")[0] for e in plan.errors] == ["row 2", "row 3"]
    assert len(plan.new) == 1


def test_an_update_may_not_contradict_the_ledger(svc):
    services.import_members(svc.unit, actor=svc.actor, data=GOOD)
    m = members(svc.unit)["TV0001"]
    services.record_contribution(
        m, actor=svc.actor, kind="contributed", amount_vnd=1_000_000, entry_date=dt.date(2022, 6, 1)
    )
    data = csv_bytes(
        "TV0001,Nguyễn Văn An,0912345678,Ấp 1,official,chair,2021-03-01,2022-05-01,",
        header=HEADER,
    )
    with pytest.raises(services.MemberImportRejected) as err:
        services.import_members(svc.unit, actor=svc.actor, data=data)
    assert err.value.errors == ["row 2: TV0001 contributed capital on 01/06/2022, after this leaving date"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is not a CSV"),
        (b"\xff\xfe\x00garbage", "The file is not a CSV"),
        (b"PK\x03\x04broken", "The file is not a CSV"),
        (b"name,phone\nAn,0912345678\n", "The file has no column for: code, joined_on."),
        (HEADER.encode() + b"\n", "The file has no rows"),
    ],
)
def test_unreadable_files_are_refused(svc, data, message):
    plan = services.plan_import(svc.unit, data)
    assert not plan.ok
    assert plan.errors[0].startswith(message)


def test_a_file_with_too_many_rows_is_refused(svc, monkeypatch):
    monkeypatch.setattr(services, "MAX_IMPORT_ROWS", 2)
    plan = services.plan_import(svc.unit, GOOD)
    assert plan.errors == ["The file has more than 2 rows; split it into smaller files."]
