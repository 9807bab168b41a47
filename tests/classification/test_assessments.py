"""Self-assessment by the unit's staff, review and finalising by the province's officer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ktt_market.audit.models import AuditEvent
from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
from ktt_market.core.i18n import local_today
from ktt_market.extensions import db
from ktt_market.registry.models import UnitKind
from tests.conftest import post_form

pytestmark = pytest.mark.core

YEAR = local_today().year


def _assessment(app, unit_id) -> Assessment:
    with app.app_context():
        a = db.session.scalar(select(Assessment).where(Assessment.unit_id == unit_id, Assessment.year == YEAR))
        if a is not None:
            a.scores  # noqa: B018  (load before leaving the session)
            db.session.expunge_all()
        return a


def _points(seeded, value_for) -> dict[str, str]:
    return {f"c{cid}": str(value_for(cid, maximum)) for cid, _code, maximum in seeded["criteria"]}


@pytest.fixture
def unit(make_unit):
    return make_unit(founded_on=dt.date(2018, 3, 1))


@pytest.fixture
def staff_client(client, login, make_staff, unit):
    login(client, make_staff(unit))
    return client


def _open(client, unit) -> None:
    response = post_form(client, f"/classification/units/{unit.id}/{YEAR}/open")
    assert response.status_code == 302


def test_staff_open_save_and_submit(app, staff_client, unit, seeded_rubric):
    page = staff_client.get("/classification/").get_data(as_text=True)
    assert unit.name in page
    _open(staff_client, unit)
    url = f"/classification/units/{unit.id}/{YEAR}"
    assert staff_client.get(url).status_code == 200

    first_id = seeded_rubric["criteria"][0][0]
    response = post_form(staff_client, url, {f"c{first_id}": "5", "save": "1"})
    assert response.status_code == 302
    a = _assessment(app, unit.id)
    assert a.status is AssessmentStatus.DRAFT and a.self_score is None
    assert {s.criterion_id: s.self_points for s in a.scores}[first_id] == 5

    # Submitting with a criterion left empty is refused beside that criterion.
    response = post_form(staff_client, url, {f"c{first_id}": "5", "submit": "1"})
    assert response.status_code == 422
    assert _assessment(app, unit.id).status is AssessmentStatus.DRAFT

    response = post_form(staff_client, url, _points(seeded_rubric, lambda cid, m: m) | {"submit": "1"})
    assert response.status_code == 302
    a = _assessment(app, unit.id)
    assert a.status is AssessmentStatus.SUBMITTED and a.self_score == 100 and a.submitted_at is not None

    # After submitting nothing changes.
    response = post_form(staff_client, url, _points(seeded_rubric, lambda cid, m: 0) | {"save": "1"})
    assert response.status_code == 302
    assert _assessment(app, unit.id).self_score == 100


@pytest.mark.parametrize("value", ["-1", "abc", "2.5", "999"])
def test_bad_points_are_422_beside_the_field(app, staff_client, unit, seeded_rubric, value):
    _open(staff_client, unit)
    cid = seeded_rubric["criteria"][0][0]
    url = f"/classification/units/{unit.id}/{YEAR}"
    response = post_form(staff_client, url, {f"c{cid}": value, "save": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="c{cid}-errors"' in html
    assert all(s.self_points is None for s in _assessment(app, unit.id).scores)


def test_a_unit_not_eligible_cannot_open(app, client, login, make_unit, make_staff):
    new = make_unit(founded_on=dt.date(YEAR, 1, 1))
    login(client, make_staff(new))
    response = post_form(client, f"/classification/units/{new.id}/{YEAR}/open")
    assert response.status_code == 302
    assert _assessment(app, new.id) is None
    page = client.get("/classification/").get_data(as_text=True)
    assert "12" in page  # the reason is shown


def test_other_units_staff_get_404(app, client, login, make_unit, make_staff, unit):
    other = make_unit()
    login(client, make_staff(other))
    assert post_form(client, f"/classification/units/{unit.id}/{YEAR}/open").status_code == 404
    assert client.get(f"/classification/units/{unit.id}/{YEAR}").status_code == 404
    assert _assessment(app, unit.id) is None


def _submitted(app, staff_client, unit, seeded, value_for):
    _open(staff_client, unit)
    url = f"/classification/units/{unit.id}/{YEAR}"
    assert post_form(staff_client, url, _points(seeded, value_for) | {"submit": "1"}).status_code == 302
    return _assessment(app, unit.id)


def test_officer_reviews_and_finalises(app, client, login, officer, staff_client, unit, seeded_rubric):
    a = _submitted(app, staff_client, unit, seeded_rubric, lambda cid, m: m)  # 100 claimed
    officer_client = app.test_client()
    login(officer_client, officer)
    listing = officer_client.get(f"/classification/assessments/?year={YEAR}").get_data(as_text=True)
    assert unit.name in listing
    url = f"/classification/assessments/{a.id}"
    assert officer_client.get(url).status_code == 200

    # The officer takes 21 points off the first criteria: a comment is needed where they differ.
    cuts = {}
    left = 21
    for cid, _code, maximum in seeded_rubric["criteria"]:
        cut = min(left, maximum)
        cuts[cid] = maximum - cut
        left -= cut
    form = {f"p{cid}": str(p) for cid, p in cuts.items()} | {"finalise": "1"}
    response = post_form(officer_client, url, form)
    assert response.status_code == 422
    # The message stands beside the first criterion whose points differ (its comment field).
    first_cut = next(cid for cid, p in cuts.items() if p != dict((c, m) for c, _x, m in seeded_rubric["criteria"])[cid])
    assert f'id="m{first_cut}-errors"' in response.get_data(as_text=True)
    assert _assessment(app, unit.id).status is AssessmentStatus.SUBMITTED

    max_of = {cid: m for cid, _c, m in seeded_rubric["criteria"]}
    form |= {f"m{cid}": "Thiếu chứng từ" for cid, p in cuts.items() if p != max_of[cid]}
    response = post_form(officer_client, url, form)
    assert response.status_code == 302
    a = _assessment(app, unit.id)
    assert a.status is AssessmentStatus.FINAL and a.score == 79 and a.grade is Grade.FAIR
    assert a.self_score == 100 and a.finalised_at is not None
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == str(a.id))) == (
            "classification.finalised"
        )

    # Final: nothing changes any more.
    response = post_form(officer_client, url, {f"p{cid}": "0" for cid in cuts} | {"finalise": "1"})
    assert response.status_code == 302
    assert _assessment(app, unit.id).score == 79
    # The cooperative sees its grade.
    assert "79" in staff_client.get(f"/classification/units/{unit.id}/{YEAR}").get_data(as_text=True)


def test_officer_of_another_province_gets_404(app, make_user, login, staff_client, unit, seeded_rubric):
    from ktt_market.accounts.models import Role

    a = _submitted(app, staff_client, unit, seeded_rubric, lambda cid, m: m)
    stranger = make_user(Role.OFFICER, province_code=1)
    other = app.test_client()
    login(other, stranger)
    assert other.get(f"/classification/assessments/{a.id}").status_code == 404
    response = post_form(other, f"/classification/assessments/{a.id}", {"finalise": "1"})
    assert response.status_code == 404
    assert unit.name not in other.get(f"/classification/assessments/?year={YEAR}").get_data(as_text=True)
    assert _assessment(app, unit.id).status is AssessmentStatus.SUBMITTED


def test_officer_sends_back_and_admin_reopens(app, make_user, login, officer, admin, staff_client, unit, seeded_rubric):
    a = _submitted(app, staff_client, unit, seeded_rubric, lambda cid, m: m)
    oc = app.test_client()
    login(oc, officer)
    assert post_form(oc, f"/classification/assessments/{a.id}/return", {"reason": ""}).status_code == 422
    assert post_form(oc, f"/classification/assessments/{a.id}/return", {"reason": "Bổ sung"}).status_code == 302
    assert _assessment(app, unit.id).status is AssessmentStatus.DRAFT

    a = _submitted(app, staff_client, unit, seeded_rubric, lambda cid, m: m)
    form = {f"p{cid}": str(m) for cid, _c, m in seeded_rubric["criteria"]} | {"finalise": "1"}
    assert post_form(oc, f"/classification/assessments/{a.id}", form).status_code == 302
    assert _assessment(app, unit.id).grade is Grade.GOOD
    assert post_form(oc, f"/classification/assessments/{a.id}/reopen").status_code == 403

    ac = app.test_client()
    login(ac, admin)
    assert post_form(ac, f"/classification/assessments/{a.id}/reopen").status_code == 302
    a = _assessment(app, unit.id)
    assert a.status is AssessmentStatus.SUBMITTED and a.grade is None


def test_thts_are_not_classified(app, client, login, make_unit, make_staff):
    tht = make_unit(kind=UnitKind.COOPERATIVE_GROUP)
    login(client, make_staff(tht))
    post_form(client, f"/classification/units/{tht.id}/{YEAR}/open")
    assert _assessment(app, tht.id) is None
