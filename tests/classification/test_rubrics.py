"""Rubric versions: choosing one for a year, grades, adding a version."""

from __future__ import annotations

import pytest

from ktt_market.classification import services
from ktt_market.classification.models import Grade, Rubric
from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.extensions import db
from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (0, Grade.WEAK),
        (49, Grade.WEAK),
        (50, Grade.AVERAGE),
        (64, Grade.AVERAGE),
        (65, Grade.FAIR),
        (79, Grade.FAIR),
        (80, Grade.GOOD),
        (100, Grade.GOOD),
    ],
)
def test_grade_thresholds(ctx, score, grade):
    assert services.grade_for(score, services.rubric_for(2024)) is grade


def _data(code="V2026", first_year=2026, criteria=None, **thresholds):
    values = {"good_min": 80, "fair_min": 65, "average_min": 50} | thresholds
    criteria = criteria or [
        services.CriterionData("Tài chính", "1", "Vốn", 60),
        services.CriterionData("Quản trị", "2", "Quản trị", 40),
    ]
    return services.RubricData(code=code, name="Phiên bản mới", first_year=first_year, criteria=criteria, **values)


def test_seeded_rubric_covers_2020_onwards(ctx):
    assert services.rubric_for(2019) is None
    seeded = services.rubric_for(2020)
    assert seeded.code == "TT01-2020" and services.rubric_total(seeded) == 100
    assert services.rubric_for(2031).id == seeded.id


def test_adding_a_version_closes_the_open_one(ctx, admin):
    new = services.add_rubric(_data(), actor=admin)
    db.session.commit()
    assert services.rubric_for(2025).code == "TT01-2020"
    assert services.rubric_for(2025).last_year == 2025
    assert services.rubric_for(2026).id == new.id
    assert services.rubric_for(2040).id == new.id


def test_newest_version_wins_when_years_overlap(ctx):
    # Rows written outside the service (e.g. by hand) may overlap: the newest first year wins.
    db.session.add(Rubric(code="HAND", name="x", first_year=2027, good_min=80, fair_min=65, average_min=50))
    db.session.flush()
    assert services.rubric_for(2027).code == "HAND"
    assert services.rubric_for(2026).code == "TT01-2020"
    db.session.rollback()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_data(first_year=2020), "first_year", "2020"),
        (_data(first_year=2019), "first_year", "2020"),
        (_data(code="TT01-2020"), "code", "TT01-2020"),
        (_data(good_min=60, fair_min=65), "good_min", None),
        (_data(good_min=120, fair_min=90, average_min=60), "good_min", "100"),
        (
            _data(criteria=[services.CriterionData("A", "1", "x", 50), services.CriterionData("A", "1", "y", 50)]),
            "criteria",
            "1",
        ),
        (_data(criteria=[services.CriterionData("A", "1", "", 50)]), "criteria", None),
    ],
)
def test_bad_versions_are_refused_with_a_field(ctx, admin, data, field, words):
    with pytest.raises(ServiceError) as caught:
        services.add_rubric(data, actor=admin)
    assert caught.value.field == field
    if words:
        assert words in caught.value.message
    db.session.rollback()
    assert db.session.query(Rubric).count() == 1


def test_overlap_with_a_closed_version_is_refused(ctx, admin):
    services.add_rubric(_data(), actor=admin)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        services.add_rubric(_data(code="V2025", first_year=2025), actor=admin)
    assert caught.value.field == "first_year"


def test_a_version_cannot_start_in_a_year_already_assessed(ctx, admin, make_unit):
    from ktt_market.classification.models import Assessment, AssessmentStatus

    unit = make_unit()
    db.session.add(
        Assessment(
            unit_id=unit.id, year=2026, rubric_id=1, status=AssessmentStatus.IMPORTED, score=70, grade=Grade.FAIR
        )
    )
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        services.add_rubric(_data(first_year=2026), actor=admin)
    assert "2026" in caught.value.message


def test_only_admins_add_versions(ctx, officer):
    with pytest.raises(PermissionDenied):
        services.add_rubric(_data(), actor=officer)


def test_admin_adds_a_version_from_the_page(client, login, admin, app):
    login(client, admin)
    page = client.get("/classification/rubrics/new?from=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "TT01-2020" in html and "100" in html
    form = {
        "code": "TT-2027",
        "name": "Bộ tiêu chí 2027",
        "first_year": "2027",
        "good_min": "80",
        "fair_min": "65",
        "average_min": "50",
    }
    form |= {
        "criteria-0-group": "Tài chính",
        "criteria-0-code": "1",
        "criteria-0-label": "Vốn",
        "criteria-0-max_points": "100",
    }
    form |= {"criteria-1-group": "", "criteria-1-code": "", "criteria-1-label": "", "criteria-1-max_points": ""}
    response = post_form(client, "/classification/rubrics/new", form)
    assert response.status_code == 302
    with app.app_context():
        assert services.rubric_for(2027).code == "TT-2027"
        assert services.rubric_for(2026).code == "TT01-2020"
    assert "TT-2027" in client.get("/classification/rubrics/").get_data(as_text=True)


def test_bad_version_form_is_422_with_the_message(client, login, admin, app):
    login(client, admin)
    form = {"code": "X", "name": "X", "first_year": "2027", "good_min": "50", "fair_min": "65", "average_min": "40"}
    form |= {"criteria-0-group": "A", "criteria-0-code": "1", "criteria-0-label": "Vốn", "criteria-0-max_points": "abc"}
    response = post_form(client, "/classification/rubrics/new", form)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.query(Rubric).count() == 1


def test_officers_read_versions_but_cannot_add(client, login, officer):
    login(client, officer)
    assert client.get("/classification/rubrics/").status_code == 200
    assert client.get("/classification/rubrics/1").status_code == 200
    assert client.get("/classification/rubrics/new").status_code == 403
