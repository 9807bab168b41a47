"""Registry import: plan (every row checked, nothing written), apply (bulk, idempotent) and the command line."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.extensions import db
from ktt_market.registry.importing import apply_import, plan_import
from ktt_market.registry.models import PlatformStatus, Sector, Unit, UnitKind

from .conftest import HEADER, OTHER_PROVINCE, OTHER_WARD, PROVINCE, WARD, csv_bytes, row, xlsx_bytes

pytestmark = pytest.mark.core

GOOD_ROWS = [
    row("HTX-001"),
    row("THT-002", kind="THT", sector="non_agriculture", members="", charter_capital_vnd=""),
    row("QT-003", kind="QTDND", founded_on="2001-01-01", stopped_on="2020-05-05", dissolved_on="2021-01-01"),
    row("LH-004", kind="lhhtx", sector="Phi nông nghiệp", members="1.200", charter_capital_vnd="1.500.000.000"),
]


def unit_count() -> int:
    return db.session.scalar(select(func.count(Unit.id)))


def stored(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.registration_code == code))


def run(data: bytes, actor=None, **kwargs):
    plan = plan_import(data, actor=actor, **kwargs)
    if plan.ok:
        apply_import(plan)
        db.session.commit()
    return plan


@pytest.mark.parametrize("make_file", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
def test_good_file_creates_units_and_a_second_import_changes_nothing(ctx, make_file):
    data = make_file(GOOD_ROWS)
    plan = plan_import(data, actor=None)
    assert plan.ok, plan.errors
    assert (plan.total_rows, plan.created, plan.updated, plan.unchanged) == (4, 4, 0, 0)
    assert unit_count() == 0  # planning writes nothing
    apply_import(plan)
    db.session.commit()

    htx = stored("HTX-001")
    assert htx.kind is UnitKind.COOPERATIVE
    assert htx.province_code == PROVINCE
    assert htx.ward_code == WARD
    assert htx.founded_on == dt.date(2019, 3, 1)
    assert htx.platform_status is PlatformStatus.NOT_JOINED
    assert (htx.declared_members, htx.charter_capital_vnd) == (12, 250_000_000)
    tht = stored("THT-002")
    assert (tht.sector, tht.declared_members, tht.charter_capital_vnd) == (Sector.NON_AGRICULTURE, 0, 0)
    qt = stored("QT-003")
    assert (qt.stopped_on, qt.dissolved_on) == (dt.date(2020, 5, 5), dt.date(2021, 1, 1))
    lh = stored("LH-004")
    assert (lh.kind, lh.sector) == (UnitKind.UNION, Sector.NON_AGRICULTURE)
    assert (lh.declared_members, lh.charter_capital_vnd) == (1200, 1_500_000_000)

    again = run(make_file(GOOD_ROWS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.summary() == "created 0, updated 0, unchanged 4"
    assert unit_count() == 4


def test_a_changed_row_updates_only_that_unit_and_lists_the_change(ctx):
    run(csv_bytes(GOOD_ROWS))
    changed = [*GOOD_ROWS]
    changed[0] = row("HTX-001", members="30", dissolved_on="2024-02-02")
    plan = plan_import(csv_bytes(changed), actor=None)
    assert (plan.created, plan.updated, plan.unchanged) == (0, 1, 3)
    [update] = plan.rows
    assert (update.row, update.registration_code, update.action) == (2, "HTX-001", "update")
    assert {(c.field, c.old, c.new) for c in update.changes} == {
        ("declared_members", 12, 30),
        ("dissolved_on", None, dt.date(2024, 2, 2)),
    }
    apply_import(plan)
    db.session.commit()
    unit = stored("HTX-001")
    assert (unit.declared_members, unit.dissolved_on) == (30, dt.date(2024, 2, 2))


def test_import_keeps_platform_status_and_contact_details(ctx, make_unit):
    make_unit(registration_code="HTX-001", contact_name="Anh Tư", platform_status=PlatformStatus.APPROVED)
    plan = run(csv_bytes([row("HTX-001", name="Tên mới")]))
    assert plan.updated == 1
    unit = stored("HTX-001")
    assert (unit.name, unit.contact_name, unit.platform_status) == ("Tên mới", "Anh Tư", PlatformStatus.APPROVED)


FUTURE = (dt.date.today() + dt.timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (row("B-1", ward_code="99999"), "unknown ward code 99999"),
        (row("B-1", ward_code="abc"), "unknown ward code abc"),
        (row("B-1", kind="XYZ"), "unknown kind XYZ"),
        (row("B-1", sector="mining"), "unknown sector mining"),
        (row("B-1", founded_on="2020-01-01", dissolved_on="2019-12-31"), "dissolved before founded"),
        (row("B-1", founded_on="2020-01-01", stopped_on="2019-12-31"), "stopped before founded"),
        (row("B-1", members="-3"), "negative number in column members"),
        (row("B-1", charter_capital_vnd="-1"), "negative number in column charter_capital_vnd"),
        (row("B-1", members="ten"), "ten in column members is not a whole number"),
        (row("B-1", founded_on="01/02/2020"), "bad date 01/02/2020 in column founded_on"),
        (row("B-1", founded_on="2020-02-30"), "bad date 2020-02-30 in column founded_on"),
        (row("B-1", founded_on=FUTURE), "is in the future"),
        (row("B-1", name=""), "missing value in column name"),
        (row("", name="Không mã"), "missing value in column registration_code"),
        (row("B-1", ward_code=""), "missing value in column ward_code"),
        (row("HTX-001", name="Trùng"), "duplicate code HTX-001 (first on row 2)"),
    ],
)
def test_each_bad_row_is_reported_with_its_number_and_nothing_is_written(ctx, bad_row, reason):
    rows = [row("HTX-001"), row("OK-2"), bad_row, row("OK-4")]
    plan = plan_import(csv_bytes(rows), actor=None)
    assert not plan.ok
    assert [e.row for e in plan.errors] == [4]
    assert reason in plan.errors[0].message
    assert str(plan.errors[0]).startswith("row 4: ")
    with pytest.raises(ServiceError):
        apply_import(plan)
    assert unit_count() == 0


def test_all_reasons_of_a_row_are_listed(ctx):
    plan = plan_import(csv_bytes([row("B-1", kind="X", sector="Y", members="-1")]), actor=None)
    assert len(plan.errors) == 3
    assert {e.row for e in plan.errors} == {2}


def test_a_missing_column_is_reported_on_the_header_row(ctx):
    plan = plan_import(csv_bytes([row("A")], header=[c for c in HEADER if c != "ward_code"]), actor=None)
    assert [(e.row, e.message) for e in plan.errors] == [(1, "missing required column ward_code")]


def test_an_unreadable_file_is_one_error(ctx):
    plan = plan_import(b"\x00\x01\x02binary", actor=None)
    assert not plan.ok and plan.errors[0].row == 1


def test_semicolon_csv_with_bom_is_read(ctx):
    text = ";".join(HEADER) + "\n" + ";".join(row("SC-1")[c] for c in HEADER) + "\n"
    plan = plan_import(("\ufeff" + text).encode("utf-8"), actor=None)
    assert plan.ok and plan.created == 1


# ---------------------------------------------------------------- who may import what


def test_officer_rows_outside_the_province_are_errors(ctx, officer):
    plan = plan_import(csv_bytes([row("A-1"), row("A-2", ward_code=OTHER_WARD)]), actor=officer)
    assert [e.row for e in plan.errors] == [3]
    assert "outside the province" in plan.errors[0].message
    assert unit_count() == 0


def test_officer_cannot_take_over_a_unit_of_another_province(ctx, officer, make_unit):
    make_unit(registration_code="X-1", ward_code=OTHER_WARD)
    plan = plan_import(csv_bytes([row("X-1")]), actor=officer)
    assert [e.row for e in plan.errors] == [2]
    assert "another province" in plan.errors[0].message


def test_officer_may_not_name_another_province(ctx, officer):
    with pytest.raises(PermissionDenied):
        plan_import(csv_bytes([row("A-1")]), actor=officer, province_code=OTHER_PROVINCE)


def test_admin_imports_any_province(ctx, admin):
    plan = run(csv_bytes([row("A-1"), row("A-2", ward_code=OTHER_WARD)]), actor=admin)
    assert plan.created == 2
    assert stored("A-2").province_code == OTHER_PROVINCE


def test_a_buyer_may_not_import(ctx, buyer):
    with pytest.raises(PermissionDenied):
        plan_import(csv_bytes([row("A-1")]), actor=buyer)


# ---------------------------------------------------------------- command line


@pytest.fixture
def write_file(tmp_path):
    def write(data: bytes, name: str = "registry.bin"):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


def test_cli_imports_a_good_file(app, runner, write_file):
    # A neutral file name: the format is told by content.
    path = write_file(xlsx_bytes(GOOD_ROWS), "registry.dat")
    result = runner.invoke(args=["registry", "import", path, "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "created 4, updated 0, unchanged 0" in result.stdout
    result = runner.invoke(args=["registry", "import", path, "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 4" in result.stdout
    with app.app_context():
        assert unit_count() == 4


def test_cli_refuses_a_bad_file_and_writes_nothing(app, runner, write_file):
    path = write_file(csv_bytes([row("A-1"), row("A-2", kind="XYZ"), row("A-3", ward_code="1")]))
    result = runner.invoke(args=["registry", "import", path, "--lang", "en"])
    assert result.exit_code == 1
    assert "row 3: unknown kind XYZ" in result.stderr
    assert "row 4: unknown ward code 1" in result.stderr
    assert "created" not in result.stdout
    with app.app_context():
        assert unit_count() == 0


def test_cli_province_limits_the_rows(app, runner, write_file):
    path = write_file(csv_bytes([row("A-1"), row("A-2", ward_code=OTHER_WARD)]))
    result = runner.invoke(args=["registry", "import", path, "--province", str(PROVINCE), "--lang", "en"])
    assert result.exit_code == 1
    assert "row 3: " in result.stderr
    result = runner.invoke(args=["registry", "import", path, "--province", "12345", "--lang", "en"])
    assert result.exit_code == 2


def test_cli_dry_run_writes_nothing(app, runner, write_file):
    path = write_file(csv_bytes(GOOD_ROWS))
    result = runner.invoke(args=["registry", "import", path, "--dry-run", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "created 4, updated 0, unchanged 0" in result.stdout
    with app.app_context():
        assert unit_count() == 0


def test_cli_unreadable_file(app, runner, write_file):
    path = write_file(b"PK\x03\x04 not really a zip")
    result = runner.invoke(args=["registry", "import", path, "--lang", "en"])
    assert result.exit_code == 1
    assert "row 1:" in result.stderr
