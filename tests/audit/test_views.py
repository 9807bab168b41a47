"""The audit log page: filters, local dates, pages, and who may read what."""

from __future__ import annotations

import datetime as dt

import pytest

from ktt_market.accounts.models import User
from ktt_market.audit import services as audit
from ktt_market.extensions import db

from .conftest import OTHER_PROVINCE, PROVINCE

pytestmark = pytest.mark.core


@pytest.fixture
def logged(app, officer, other_officer, admin):
    """Events of both provinces and one of no province, at known instants."""

    def add(action, actor, province, summary, at, obj=("units", 1)):
        event = audit.record(
            action,
            actor=db.session.get(User, actor.id) if actor else None,
            obj=obj,
            province_code=province,
            summary=summary,
            before={"status": "pending"},
            after={"status": "approved"},
        )
        event.created_at = at

    with app.app_context():
        # 18:30 UTC on 1 March is 01:30 on 2 March in Vĩnh Long.
        add(
            "registry.application.approve",
            officer,
            PROVINCE,
            "Approved HTX Dừa Sáp",
            dt.datetime(2024, 3, 1, 18, 30, tzinfo=dt.UTC),
            ("unit_applications", 7),
        )
        add(
            "registry.unit.update",
            officer,
            PROVINCE,
            "Edited HTX Bưởi",
            dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC),
            ("units", 3),
        )
        add(
            "reviews.review.hide",
            admin,
            PROVINCE,
            "Hid a review of HTX Bưởi",
            dt.datetime(2024, 3, 6, 2, 0, tzinfo=dt.UTC),
            ("reviews", 9),
        )
        add(
            "registry.application.approve",
            other_officer,
            OTHER_PROVINCE,
            "Approved HTX Sài Gòn",
            dt.datetime(2024, 3, 2, 2, 0, tzinfo=dt.UTC),
            ("unit_applications", 8),
        )
        add(
            "payments.payout_run.record",
            admin,
            None,
            "Recorded payout run 1",
            dt.datetime(2024, 3, 3, 2, 0, tzinfo=dt.UTC),
            ("payout_batches", 1),
        )
        db.session.commit()


def test_only_officers_and_admins_read_the_log(client, login, make_user, logged):
    assert client.get("/audit/").status_code == 302  # to the login page
    login(client, make_user())
    assert client.get("/audit/").status_code == 403


def test_an_officer_never_sees_another_provinces_events(client, login, officer, logged):
    login(client, officer)
    html = client.get("/audit/").get_data(as_text=True)
    assert "HTX Dừa Sáp" in html and "HTX Bưởi" in html
    assert "HTX Sài Gòn" not in html and "payout run" not in html
    # Not by any filter either.
    for query in ("q=Sài+Gòn", "actor=nam@hcm", "object_id=8", "action=registry.application.approve"):
        assert "HTX Sài Gòn" not in client.get(f"/audit/?{query}").get_data(as_text=True)


def test_an_officer_search_query_is_bound_to_the_province(app, officer, logged):
    with app.app_context():
        viewer = db.session.get(User, officer.id)
        found = db.session.scalars(audit.search_query(viewer=viewer)).all()
        assert {e.province_code for e in found} == {PROVINCE}
        assert OTHER_PROVINCE not in {e.province_code for e in found}


def test_an_admin_sees_every_province(client, login, admin, logged):
    login(client, admin)
    html = client.get("/audit/").get_data(as_text=True)
    assert all(name in html for name in ("HTX Dừa Sáp", "HTX Sài Gòn", "payout run 1"))


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("actor=trang", ["HTX Dừa Sáp", "Edited HTX Bưởi"], ["Hid a review"]),
        ("actor=HUY%40ktt", ["Hid a review", "payout run"], ["HTX Dừa Sáp"]),
        ("actor=Thu+Trang", ["HTX Dừa Sáp"], ["Hid a review"]),
        ("action=registry.application.approve", ["HTX Dừa Sáp", "HTX Sài Gòn"], ["Edited HTX Bưởi"]),
        ("object_type=reviews", ["Hid a review"], ["HTX Dừa Sáp"]),
        ("object_type=unit_applications&object_id=8", ["HTX Sài Gòn"], ["HTX Dừa Sáp"]),
        ("q=b%C6%B0%E1%BB%9Fi", ["Edited HTX Bưởi", "Hid a review"], ["HTX Dừa Sáp"]),
        # Local dates: the approval at 01:30 on 2 March (Vietnam) is not on 1 March.
        ("date_from=2024-03-02&date_to=2024-03-02", ["HTX Dừa Sáp", "HTX Sài Gòn"], ["payout run"]),
        ("date_to=2024-03-01", [], ["HTX Dừa Sáp"]),
        ("date_from=2024-03-05", ["Edited HTX Bưởi", "Hid a review"], ["HTX Dừa Sáp", "payout run"]),
    ],
)
def test_filters(client, login, admin, logged, query, shown, hidden):
    login(client, admin)
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in shown:
        assert text in html, text
    for text in hidden:
        assert text not in html, text


def test_a_wildcard_in_the_search_is_taken_literally(client, login, admin, logged):
    login(client, admin)
    assert "HTX Dừa Sáp" not in client.get("/audit/?q=%25").get_data(as_text=True)


def test_an_end_before_the_start_is_refused_beside_its_field(client, login, admin, logged):
    login(client, admin)
    response = client.get("/audit/?date_from=2024-03-05&date_to=2024-03-01")
    assert response.status_code == 422
    assert 'id="date_to-errors"' in response.get_data(as_text=True)
    response = client.get("/audit/?date_from=05/03/2024x")
    assert response.status_code == 422


def test_pages_keep_the_filters(app, client, login, admin, officer):
    with app.app_context():
        actor = db.session.get(User, officer.id)
        for n in range(55):
            audit.record(
                "registry.unit.update", actor=actor, obj=("units", n), province_code=PROVINCE, summary=f"Edit {n}"
            )
        db.session.commit()
    login(client, admin)
    html = client.get("/audit/?action=registry.unit.update").get_data(as_text=True)
    assert "Edit 54" in html and "Edit 4<" not in html
    assert "page=2" in html and "action=registry.unit.update" in html
    html = client.get("/audit/?action=registry.unit.update&page=2").get_data(as_text=True)
    assert "Edit 4<" in html
