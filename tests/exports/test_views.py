"""Export pages: start from a list page, watch the progress, download; nobody else sees a job."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import post_form

pytestmark = pytest.mark.core


def latest_job(app):
    from sqlalchemy import select

    from ktt_market.exports.models import ExportJob
    from ktt_market.extensions import db

    with app.app_context():
        job = db.session.scalars(select(ExportJob).order_by(ExportJob.id.desc())).first()
        if job is not None:
            db.session.expunge(job)
        db.session.remove()
    return job


def test_an_officer_exports_the_filtered_registry_and_downloads_it(app, client, login, officer, make_unit, run):
    make_unit(name="HTX Cam Sành", registration_code="VL-010")
    make_unit(name="Tổ hợp tác Sen", registration_code="VL-011", kind="THT")
    login(client, officer)

    page = client.get("/registry/?kind=THT").get_data(as_text=True)
    assert 'action="/exports/registry"' in page and 'name="kind" value="THT"' in page

    response = post_form(client, "/exports/registry", {"kind": "THT"})
    job = latest_job(app)
    assert response.status_code == 302 and response.location.endswith(f"/exports/{job.id}")
    assert job.params["kind"] == "THT" and job.status == "queued"

    waiting = client.get(f"/exports/{job.id}")
    body = waiting.get_data(as_text=True)
    assert waiting.status_code == 200 and '<meta http-equiv="refresh" content="2">' in body
    assert "Waiting to start" in body and "<progress" in body

    run(job.id)
    ready = client.get(f"/exports/{job.id}").get_data(as_text=True)
    assert "http-equiv" not in ready and f"/exports/{job.id}/download" in ready

    download = client.get(f"/exports/{job.id}/download")
    data = download.data
    download.close()  # the file is streamed from disk
    assert download.status_code == 200
    assert download.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["VL-011"]

    listing = client.get("/exports/").get_data(as_text=True)
    assert "Registry of units" in listing and f"/exports/{job.id}/download" in listing


def test_a_running_export_shows_rows_done_of_total(app, client, login, officer, request_job):
    from ktt_market.exports.models import ExportJob, ExportStatus
    from ktt_market.extensions import db

    job_id = request_job("registry", {}, officer)
    with app.app_context():
        job = db.session.get(ExportJob, job_id)
        job.status, job.progress, job.total = ExportStatus.RUNNING, 1200, 3400
        db.session.commit()
    login(client, officer)

    body = client.get(f"/exports/{job_id}").get_data(as_text=True)

    assert "1,200 of 3,400 rows" in body
    assert 'max="3400" value="1200"' in body
    assert '<meta http-equiv="refresh" content="2">' in body


def test_a_failed_export_shows_its_error(app, client, login, officer, request_job):
    from ktt_market.exports import services
    from ktt_market.extensions import db

    job_id = request_job("registry", {}, officer)
    with app.app_context():
        services.fail(job_id, "The export could not be built. Please try again later.")
        db.session.commit()
    login(client, officer)

    body = client.get(f"/exports/{job_id}").get_data(as_text=True)
    assert "could not be built" in body and "http-equiv" not in body
    assert client.get(f"/exports/{job_id}/download").status_code == 404


def test_with_the_broker_down_the_job_waits_and_the_page_says_so(app, client, login, staff, coop, monkeypatch):
    from ktt_market.exports import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setitem(app.config, "EXPORT_QUEUE_AFTER_REQUEST", True)
    monkeypatch.setattr(tasks.run_export, "apply_async", broker_down)
    login(client, staff)

    response = post_form(client, f"/exports/units/{coop.id}/orders")

    job = latest_job(app)
    assert response.status_code == 302 and job.status == "queued"
    assert "Waiting to start" in client.get(f"/exports/{job.id}").get_data(as_text=True)


def test_a_started_export_is_handed_to_the_workers_after_the_commit(app, client, login, staff, coop, monkeypatch):
    from ktt_market.exports import tasks

    sent = []
    monkeypatch.setitem(app.config, "EXPORT_QUEUE_AFTER_REQUEST", True)
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **kw: sent.append((args, kw)))
    login(client, staff)

    post_form(client, f"/exports/units/{coop.id}/members")

    assert sent == [((latest_job(app).id,), {"retry": False})]


def test_the_buttons_are_on_the_list_pages(app, client, login, staff, coop, make_user, make_product, make_order):
    make_order(coop, make_user(), [(make_product(coop), 1)])
    login(client, staff)

    orders = client.get(f"/orders/units/{coop.id}/incoming?status=delivered").get_data(as_text=True)
    members = client.get(f"/members/units/{coop.id}/").get_data(as_text=True)

    assert f'action="/exports/units/{coop.id}/orders"' in orders and 'name="status" value="delivered"' in orders
    assert f'action="/exports/units/{coop.id}/members"' in members


def test_outsiders_cannot_start_a_units_exports(app, client, login, coop, make_staff, make_unit, officer_elsewhere):
    for outsider in (make_staff(make_unit()), officer_elsewhere):
        client = app.test_client()
        login(client, outsider)
        assert post_form(client, f"/exports/units/{coop.id}/orders").status_code == 404
        assert post_form(client, f"/exports/units/{coop.id}/members").status_code == 404
    assert latest_job(app) is None


def test_officers_of_the_province_may_export_a_register_but_not_the_orders(app, client, login, coop, officer):
    login(client, officer)

    assert post_form(client, f"/exports/units/{coop.id}/orders").status_code == 404
    assert post_form(client, f"/exports/units/{coop.id}/members").status_code == 302


def test_buyers_cannot_export_the_registry(app, client, login, make_user):
    login(client, make_user())

    assert post_form(client, "/exports/registry").status_code == 403
    assert latest_job(app) is None


def test_an_officer_elsewhere_exports_only_their_own_province(app, client, login, coop, officer_elsewhere, run):
    login(client, officer_elsewhere)

    post_form(client, "/exports/registry", {"province": "86"})
    job = latest_job(app)
    run(job.id)

    assert job.params["province"] == 79
    with client.get(f"/exports/{job.id}/download") as download:
        rows = list(load_workbook(io.BytesIO(download.data)).worksheets[0].values)
    assert rows[1:] == []


def test_only_the_owner_sees_a_job_and_its_file(app, client, login, staff, coop, make_staff, officer, request_job, run):
    job_id = request_job("members", {"unit_id": coop.id}, staff)
    run(job_id)
    colleague = make_staff(coop)  # same unit, but not who asked

    for other in (colleague, officer):
        client = app.test_client()
        login(client, other)
        assert client.get(f"/exports/{job_id}").status_code == 404
        assert client.get(f"/exports/{job_id}/download").status_code == 404
        assert f"/exports/{job_id}" not in client.get("/exports/").get_data(as_text=True)


def test_too_many_exports_at_once_are_refused_with_a_message(app, client, login, officer, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ACTIVE", 1)
    login(client, officer)
    post_form(client, "/exports/registry", {"kind": "HTX"})

    response = post_form(client, "/exports/registry", {"kind": "THT"})

    assert response.status_code == 422
    assert "You already have 1 exports in progress" in response.get_data(as_text=True)


def test_visitors_are_sent_to_log_in(client):
    assert "/account/login" in client.get("/exports/").location
