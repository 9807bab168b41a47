"""Building export files: progress, contents, re-import, claims, retries and cleanup."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from .conftest import OTHER_WARD

pytestmark = pytest.mark.core


def sheet_rows(path, title=None) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    ws = wb[title] if title else wb.worksheets[0]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


def stored_file(app, job):
    from ktt_market.exports import services

    with app.app_context():
        return services.file_path(job.storage_key)


@pytest.fixture
def province_units(make_unit):
    units = [
        make_unit(name="HTX An Bình", registration_code="VL-001"),
        make_unit(name="HTX Bình Minh", registration_code="VL-002", stopped_on=dt.date(2024, 5, 1)),
        make_unit(name="Tổ hợp tác Cầu Kè", registration_code="VL-003", kind="THT", charter_capital_vnd=0),
    ]
    make_unit(name="HTX Sài Gòn", registration_code="HCM-001", ward_code=OTHER_WARD)
    return units


def test_registry_export_reaches_its_total_and_reimports_unchanged(
    app, province_units, officer, request_job, run, job_of
):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.registry import importing

    job_id = request_job("registry", {}, officer)
    assert job_of(job_id).status == "queued"

    assert run(job_id) == "done"

    job = job_of(job_id)
    assert (job.status, job.progress, job.total) == ("done", 3, 3)
    assert job.filename.startswith("registry-86-") and job.filename.endswith(".xlsx")
    rows = sheet_rows(stored_file(app, job))
    assert rows[0][: len(importing.COLUMNS)] == importing.COLUMNS
    assert [r[0] for r in rows[1:]] == ["VL-001", "VL-002", "VL-003"]  # by name, this province only
    assert rows[2][5] == dt.datetime(2024, 5, 1)  # stopped_on, a real date

    data = stored_file(app, job).read_bytes()
    with app.test_request_context():
        plan = importing.plan_import(data, actor=db.session.get(User, officer.id))
        assert plan.ok, [str(e) for e in plan.errors]
        assert (plan.created, plan.updated, plan.unchanged) == (0, 0, 3)
        with force_locale("en"):
            assert "unchanged 3" in plan.summary()
        db.session.remove()


def test_progress_is_recorded_after_every_batch(app, province_units, officer, request_job, run, monkeypatch):
    from ktt_market.exports import services

    seen = []
    record = services.record_progress

    def spy(job_id, started_at, *, progress, total):
        seen.append((progress, total))
        return record(job_id, started_at, progress=progress, total=total)

    monkeypatch.setattr(services, "record_progress", spy)
    run(request_job("registry", {}, officer))

    assert seen == [(0, 3), (2, 3), (3, 3)]  # batches of two rows


def test_registry_export_keeps_the_list_filters(app, province_units, officer, request_job, run, job_of):
    job_id = request_job("registry", {"kind": "THT", "province": "79", "q": "cầu"}, officer)
    run(job_id)

    job = job_of(job_id)
    assert job.params["province"] == 86  # an officer's own province, whatever the form said
    assert [r[0] for r in sheet_rows(stored_file(app, job))[1:]] == ["VL-003"]


def test_orders_export_lists_the_cooperatives_orders(
    app, coop, staff, make_unit, make_user, make_product, make_order, request_job, run, job_of
):
    buyer = make_user(full_name="Lê Thị Hoa")
    pomelo = make_product(coop, name="Bưởi da xanh", price_vnd=60_000)
    make_order(coop, buyer, [(pomelo, 2)], placed_at=dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC), number="KTT-A1")
    make_order(coop, buyer, [(pomelo, 1)], placed_at=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), number="KTT-A2")
    other = make_unit()
    make_order(other, buyer, [(make_product(other), 1)], number="KTT-B1")

    job_id = request_job("orders", {"unit_id": coop.id}, staff)
    assert run(job_id) == "done"

    rows = sheet_rows(stored_file(app, job_of(job_id)))
    assert rows[0] == (
        "Order number",
        "Placed at (Vietnam time)",
        "Buyer",
        "Status",
        "Items",
        "Total (VND)",
        "Payment method",
    )
    assert rows[1:] == [
        (
            "KTT-A2",
            dt.datetime(2026, 3, 2, 8, 0),
            "Nguyễn Văn An",
            "Delivered",
            "Bưởi da xanh × 1 kg",
            60_000,
            "Cash on delivery",
        ),
        (
            "KTT-A1",
            dt.datetime(2026, 3, 2, 3, 30),
            "Nguyễn Văn An",
            "Delivered",
            "Bưởi da xanh × 2 kg",
            120_000,
            "Cash on delivery",
        ),
    ]


def test_members_export_matches_the_direct_download(app, coop, staff, make_user, request_job, run, job_of):
    from ktt_market.extensions import db
    from ktt_market.members import services as members
    from ktt_market.registry.models import Unit

    with app.test_request_context():
        actor = db.session.get(type(staff), staff.id)
        unit = db.session.get(Unit, coop.id)
        for n in range(3):
            data = members.MemberData(full_name=f"Thành viên {n}", joined_on=dt.date(2021, 1, 1 + n))
            member = members.add_member(unit, actor=actor, data=data)
            members.record_contribution(
                member, actor=actor, kind="contributed", amount_vnd=1_000_000 * (n + 1), entry_date=dt.date(2021, 2, 1)
            )
        db.session.commit()
        with force_locale("en"):
            direct = members.export_register(unit)
        db.session.remove()

    job_id = request_job("members", {"unit_id": coop.id}, staff)
    assert run(job_id) == "done"

    path = stored_file(app, job_of(job_id))
    expected = load_workbook(io.BytesIO(direct), read_only=True)
    for title in ("Thành viên", "Vốn góp"):
        assert sheet_rows(path, title) == [tuple(r) for r in expected[title].iter_rows(values_only=True)]
    assert job_of(job_id).total == 6  # three members and three ledger entries


def test_a_second_run_of_the_same_job_does_not_rebuild(
    app, province_units, officer, request_job, run, job_of, export_folder
):
    job_id = request_job("registry", {}, officer)
    assert run(job_id) == "done"
    first = job_of(job_id)

    assert run(job_id) == "skipped"

    again = job_of(job_id)
    assert (again.storage_key, again.finished_at, again.attempts) == (first.storage_key, first.finished_at, 1)
    assert [p.name for p in export_folder.iterdir()] == [first.storage_key]


def test_two_copies_claim_once(app, officer, request_job):
    from ktt_market.exports import services

    job_id = request_job("registry", {}, officer)
    with app.app_context():
        assert services.claim(job_id) is not None
        assert services.claim(job_id) is None


def test_a_job_abandoned_by_a_dead_worker_is_taken_over(app, province_units, officer, request_job, run, job_of):
    from ktt_market.exports import services
    from ktt_market.extensions import db

    job_id = request_job("registry", {}, officer)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with app.app_context():
        dead_worker = services.claim(job_id, now=long_ago)
        assert dead_worker == long_ago
        assert services.due_for_a_run() == [job_id]
        db.session.remove()

    assert run(job_id) == "done"
    assert job_of(job_id).attempts == 2
    with app.app_context():
        # The worker that was taken for dead can no longer write anything.
        assert services.record_progress(job_id, dead_worker, progress=1, total=1) is False
        db.session.rollback()


def test_a_job_that_keeps_killing_its_worker_is_given_up(app, officer, request_job, job_of, monkeypatch):
    from ktt_market.exports import services, tasks
    from ktt_market.extensions import db

    queued = []
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **kw: queued.append(args[0]))
    job_id = request_job("registry", {}, officer)
    with app.app_context():
        for hours in (9, 6, 3):
            assert services.claim(job_id, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours))
        assert tasks.run_queued.run() == 0
        db.session.remove()

    job = job_of(job_id)
    assert job.status == "failed" and "several times" in job.error
    assert queued == []


def test_the_sweep_queues_jobs_the_broker_never_got(app, officer, request_job, monkeypatch):
    from ktt_market.exports import tasks
    from ktt_market.exports.models import ExportJob
    from ktt_market.extensions import db

    queued = []
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **kw: queued.append(args[0]))
    old = request_job("registry", {}, officer)
    fresh = request_job("registry", {"kind": "HTX"}, officer)
    with app.app_context():
        db.session.get(ExportJob, old).created_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        db.session.commit()
        assert tasks.run_queued.run() == 1
        db.session.remove()

    assert queued == [old]  # the fresh one may still be on its way to a worker
    assert fresh != old


def test_access_lost_before_the_run_fails_the_job(app, coop, staff, request_job, run, job_of):
    from ktt_market.extensions import db
    from ktt_market.registry.models import UnitStaff

    job_id = request_job("orders", {"unit_id": coop.id}, staff)
    with app.app_context():
        db.session.query(UnitStaff).filter_by(user_id=staff.id).delete()
        db.session.commit()

    assert run(job_id) == "failed"
    job = job_of(job_id)
    assert job.status == "failed" and job.error == "You no longer have access to this data."
    assert job.storage_key is None


def test_a_crash_while_building_fails_the_job_and_leaves_no_file(
    app, province_units, officer, request_job, run, job_of, export_folder, monkeypatch
):
    from ktt_market.exports import exporters

    def broken(unit):
        raise RuntimeError("boom")

    monkeypatch.setattr(exporters, "_registry_row", broken)
    job_id = request_job("registry", {}, officer)

    assert run(job_id) == "failed"
    assert job_of(job_id).error == "The export could not be built. Please try again later."
    assert list(export_folder.iterdir()) == []


def test_cleanup_removes_expired_files_and_jobs(app, province_units, officer, request_job, run, job_of, export_folder):
    from ktt_market.exports import tasks
    from ktt_market.exports.models import ExportJob
    from ktt_market.extensions import db

    expired, kept = request_job("registry", {}, officer), request_job("registry", {"kind": "HTX"}, officer)
    run(expired)
    run(kept)
    stray = export_folder / "999-0123456789abcdef.xlsx"
    stray.write_bytes(b"left behind")
    os.utime(stray, (0, 0))
    with app.app_context():
        db.session.get(ExportJob, expired).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
        assert tasks.cleanup.run() == 1
        db.session.remove()

    assert job_of(expired) is None
    assert [p.name for p in export_folder.iterdir()] == [job_of(kept).storage_key]


def test_the_same_request_twice_gives_the_same_job(app, officer, request_job):
    assert request_job("registry", {"kind": "HTX"}, officer) == request_job("registry", {"kind": "HTX"}, officer)
    assert request_job("registry", {}, officer) != request_job("registry", {"kind": "HTX"}, officer)


def test_only_the_units_staff_may_export_its_orders(app, coop, make_staff, make_unit, officer, request_job):
    from ktt_market.core.errors import PermissionDenied

    staff_of_other = make_staff(make_unit())
    for outsider in (staff_of_other, officer):
        with pytest.raises(PermissionDenied):
            request_job("orders", {"unit_id": coop.id}, outsider)


def test_buyers_may_not_export_the_registry(app, make_user, request_job):
    from ktt_market.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        request_job("registry", {}, make_user())
