"""Eligibility for the yearly classification, at its edges, in Python and in SQL alike."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from ktt_market.classification.eligibility import (
    Eligibility,
    condition,
    eligibility,
    eligible_condition,
    existing_condition,
)
from ktt_market.registry.models import Unit, UnitKind

pytestmark = pytest.mark.core

Y = 2024
D = dt.date


def unit(**fields) -> SimpleNamespace:
    """A stand-in with the unit's dates and kind (the rule reads nothing else)."""
    values = dict(kind=UnitKind.COOPERATIVE, founded_on=D(2015, 5, 1), stopped_on=None, dissolved_on=None)
    values.update(fields)
    return SimpleNamespace(**values)


CASES = [
    ("old active HTX", {}, Eligibility.ELIGIBLE),
    ("union", {"kind": UnitKind.UNION}, Eligibility.ELIGIBLE),
    ("THT", {"kind": UnitKind.COOPERATIVE_GROUP}, Eligibility.NOT_EVALUATED_KIND),
    ("credit fund", {"kind": UnitKind.CREDIT_FUND}, Eligibility.NOT_EVALUATED_KIND),
    ("no founding date", {"founded_on": None}, Eligibility.NO_FOUNDING_DATE),
    ("founded 1 Jan Y-1", {"founded_on": D(Y - 1, 1, 1)}, Eligibility.ELIGIBLE),
    ("founded 2 Jan Y-1", {"founded_on": D(Y - 1, 1, 2)}, Eligibility.ELIGIBLE),
    ("founded 31 Dec Y-1: 12 months on 31 Dec Y", {"founded_on": D(Y - 1, 12, 31)}, Eligibility.ELIGIBLE),
    ("founded 1 Jan Y: under 12 months", {"founded_on": D(Y, 1, 1)}, Eligibility.NEW),
    ("founded 31 Dec Y", {"founded_on": D(Y, 12, 31)}, Eligibility.NEW),
    ("founded after Y", {"founded_on": D(Y + 1, 1, 1)}, Eligibility.NOT_EXISTING),
    ("dissolved before Y", {"dissolved_on": D(Y - 1, 12, 31)}, Eligibility.NOT_EXISTING),
    ("dissolved 1 Jan Y", {"dissolved_on": D(Y, 1, 1)}, Eligibility.DISSOLVED),
    ("dissolved 31 Dec Y", {"dissolved_on": D(Y, 12, 31)}, Eligibility.DISSOLVED),
    ("dissolved after Y", {"dissolved_on": D(Y + 1, 1, 1)}, Eligibility.ELIGIBLE),
    ("stopped 1 Oct Y: exactly 3 months", {"stopped_on": D(Y, 10, 1)}, Eligibility.ELIGIBLE),
    ("stopped 30 Sep Y: more than 3 months", {"stopped_on": D(Y, 9, 30)}, Eligibility.STOPPED),
    ("stopped in an earlier year", {"stopped_on": D(Y - 2, 3, 1)}, Eligibility.STOPPED),
    ("stopped after Y", {"stopped_on": D(Y + 1, 2, 1)}, Eligibility.ELIGIBLE),
    ("new and stopped: new first", {"founded_on": D(Y, 2, 1), "stopped_on": D(Y, 3, 1)}, Eligibility.NEW),
    (
        "stopped then dissolved in Y: dissolved first",
        {"stopped_on": D(Y, 2, 1), "dissolved_on": D(Y, 6, 1)},
        Eligibility.DISSOLVED,
    ),
    (
        "THT founded in Y: kind first",
        {"kind": UnitKind.COOPERATIVE_GROUP, "founded_on": D(Y, 1, 1)},
        Eligibility.NOT_EVALUATED_KIND,
    ),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_eligibility_in_python(fields, expected):
    assert eligibility(unit(**fields), Y) is expected


def test_sql_conditions_agree_with_python_and_exclude_each_other(app, make_unit):
    from ktt_market.extensions import db

    made = {}
    for _name, fields, expected in CASES:
        made[make_unit(**fields).id] = expected
    with app.app_context():
        for reason in Eligibility:
            ids = set(db.session.scalars(select(Unit.id).where(condition(reason, Y))))
            assert ids == {i for i, e in made.items() if e is reason}, reason
        eligible = db.session.scalar(select(func.count()).select_from(Unit).where(eligible_condition(Y)))
        assert eligible == sum(1 for e in made.values() if e is Eligibility.ELIGIBLE)
        existing = db.session.scalar(select(func.count()).select_from(Unit).where(existing_condition(Y)))
        wanted = {Eligibility.ELIGIBLE, Eligibility.NEW, Eligibility.STOPPED}
        assert existing == sum(1 for e in made.values() if e in wanted)


def test_every_reason_has_a_label(app):
    with app.test_request_context():
        assert all(reason.label for reason in Eligibility)
