"""Year-on-year movement: grade(Y-1) x grade(Y), with "unrated"."""

from __future__ import annotations

import pytest

from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
from ktt_market.classification.services import movement
from ktt_market.extensions import db

pytestmark = pytest.mark.core

Y = 2024


def _grade(unit, year, grade, status=AssessmentStatus.IMPORTED):
    score = {Grade.GOOD: 85, Grade.FAIR: 70, Grade.AVERAGE: 55, Grade.WEAK: 30}[grade]
    db.session.add(Assessment(unit_id=unit.id, year=year, rubric_id=1, status=status, score=score, grade=grade))


@pytest.fixture
def province(app, make_unit):
    units = [make_unit() for _i in range(6)]
    far = make_unit(ward_code=30292)
    with app.app_context():
        _grade(units[0], Y - 1, Grade.FAIR)
        _grade(units[0], Y, Grade.GOOD)  # rose
        _grade(units[1], Y - 1, Grade.GOOD)
        _grade(units[1], Y, Grade.AVERAGE)  # fell two grades
        _grade(units[2], Y - 1, Grade.WEAK)
        _grade(units[2], Y, Grade.WEAK)  # stayed
        _grade(units[3], Y, Grade.FAIR)  # first rated in Y
        _grade(units[4], Y - 1, Grade.AVERAGE)  # not rated in Y
        # A draft's grade does not count: unrated in Y.
        db.session.add(Assessment(unit_id=units[4].id, year=Y, rubric_id=1, status=AssessmentStatus.DRAFT))
        _grade(far, Y, Grade.GOOD)  # another province
        db.session.commit()
    return units[0].province_code


def test_movement_matrix(ctx, province):
    m = movement(province, Y)
    assert m.count(Grade.FAIR, Grade.GOOD) == 1
    assert m.count(Grade.GOOD, Grade.AVERAGE) == 1
    assert m.count(Grade.WEAK, Grade.WEAK) == 1
    assert m.count(None, Grade.FAIR) == 1
    assert m.count(Grade.AVERAGE, None) == 1
    assert m.total == 5  # the unit never rated and the other province's unit are not in it
    assert m.row_total(None) == 1 and m.column_total(Grade.WEAK) == 1
    assert (m.improved, m.declined) == (1, 1)
    assert movement(None, Y).total == 6


def test_movement_page_shows_the_table(client, login, officer, province):
    login(client, officer)
    response = client.get(f"/classification/movement?year={Y}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<table" in html and str(Y - 1) in html
