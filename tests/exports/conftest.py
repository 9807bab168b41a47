"""Exports fixtures: a private exports folder, a cooperative with staff, officers, and a way to run jobs."""

from __future__ import annotations

import pytest

PROVINCE = 86  # Vĩnh Long
OTHER_PROVINCE = 79  # Hồ Chí Minh City
OTHER_WARD = 26887  # Phường An Nhơn, Hồ Chí Minh City


@pytest.fixture(autouse=True)
def export_folder(app, tmp_path, monkeypatch):
    """Each test writes its files to its own folder, never to the instance folder."""
    folder = tmp_path / "exports"
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(folder))
    monkeypatch.setitem(app.config, "EXPORT_BATCH_ROWS", 2)
    return folder


@pytest.fixture
def coop(make_unit):
    return make_unit(name="HTX Bưởi Trà Vinh", registration_code="HTX-TV-001")


@pytest.fixture
def staff(coop, make_staff, make_user):
    return make_staff(coop, make_user(full_name="Trần Văn Bưởi", locale="en"))


@pytest.fixture
def officer(make_user):
    from ktt_market.accounts.models import Role

    return make_user(role=Role.OFFICER, province_code=PROVINCE, locale="en")


@pytest.fixture
def officer_elsewhere(make_user):
    from ktt_market.accounts.models import Role

    return make_user(role=Role.OFFICER, province_code=OTHER_PROVINCE, locale="en")


@pytest.fixture
def request_job(app):
    """Request an export as `actor` through the service and commit; return the job id."""
    from ktt_market.accounts.models import User
    from ktt_market.exports import services
    from ktt_market.extensions import db

    def do(kind: str, params: dict, actor) -> int:
        with app.test_request_context():
            job = services.request_export(kind, params, actor=db.session.get(User, actor.id))
            db.session.commit()
            job_id = job.id
            db.session.remove()
        return job_id

    return do


@pytest.fixture
def run(app):
    """Run the export task for a job as a worker would (its own app context); return its outcome."""
    from ktt_market.exports import tasks
    from ktt_market.extensions import db

    def do(job_id: int) -> str:
        with app.app_context():
            try:
                return tasks.run_export.run(job_id)
            finally:
                db.session.remove()

    return do


@pytest.fixture
def job_of(app):
    """Read a job back, detached, with its current values."""
    from ktt_market.exports.models import ExportJob
    from ktt_market.extensions import db

    def do(job_id: int):
        with app.app_context():
            job = db.session.get(ExportJob, job_id)
            if job is not None:
                db.session.expunge(job)
            db.session.remove()
        return job

    return do
