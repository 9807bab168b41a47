"""Eligibility rules read against the registry and the previous year's final grades."""

from __future__ import annotations

import datetime as dt

import pytest

from ktt_market.classification.models import AssessmentStatus
from ktt_market.registry.models import PlatformStatus, Sector, UnitKind

pytestmark = pytest.mark.core

OTHER_WARD_86 = 28777  # Phường An Hội, Vĩnh Long
WARD_91 = 30292  # An Giang


def eligible_names(app, program):
    from ktt_market.extensions import db
    from ktt_market.programs.eligibility import eligible_units
    from ktt_market.programs.models import SupportProgram

    with app.app_context():
        names = [u.name for u in eligible_units(db.session.get(SupportProgram, program.id))]
        db.session.remove()
    return sorted(names)


def test_no_rules_means_every_existing_unit_of_the_province(app, make_unit, make_program, today):
    make_unit(name="A")
    make_unit(name="B", platform_status=PlatformStatus.NOT_JOINED)
    make_unit(name="Other province", ward_code=WARD_91)
    make_unit(name="Dissolved", dissolved_on=today - dt.timedelta(days=3))
    make_unit(name="Not founded", founded_on=today + dt.timedelta(days=30))
    assert eligible_names(app, make_program()) == ["A", "B"]


def test_kind_rule(app, make_unit, make_program):
    make_unit(name="HTX", kind=UnitKind.COOPERATIVE)
    make_unit(name="THT", kind=UnitKind.COOPERATIVE_GROUP)
    make_unit(name="QTD", kind=UnitKind.CREDIT_FUND)
    assert eligible_names(app, make_program(eligibility={"kinds": ["HTX", "THT"]})) == ["HTX", "THT"]


def test_sector_rule(app, make_unit, make_program):
    make_unit(name="Farm", sector=Sector.AGRICULTURE)
    make_unit(name="Craft", sector=Sector.NON_AGRICULTURE)
    assert eligible_names(app, make_program(eligibility={"sectors": ["non_agriculture"]})) == ["Craft"]


def test_ward_rule(app, make_unit, make_program):
    make_unit(name="Trà Vinh")
    make_unit(name="An Hội", ward_code=OTHER_WARD_86)
    assert eligible_names(app, make_program(eligibility={"ward_codes": [OTHER_WARD_86]})) == ["An Hội"]


def test_grade_rule_reads_the_previous_years_final_or_imported_grade(
    app, make_unit, make_program, make_assessment, today
):
    last = today.year - 1
    good = make_unit(name="Good last year")
    imported = make_unit(name="Imported fair")
    weak = make_unit(name="Weak last year")
    draft = make_unit(name="Draft good")
    older = make_unit(name="Good two years ago")
    make_unit(name="Never graded")
    make_assessment(good, last, "good")
    make_assessment(imported, last, "fair", status=AssessmentStatus.IMPORTED)
    make_assessment(weak, last, "weak")
    make_assessment(draft, last, "good", status=AssessmentStatus.SUBMITTED)
    make_assessment(older, last - 1, "good")
    program = make_program(eligibility={"grades": ["good", "fair"]})
    assert eligible_names(app, program) == ["Good last year", "Imported fair"]


def test_min_members_rule_uses_the_member_count(app, make_unit, make_program):
    make_unit(name="Big", declared_members=30)
    make_unit(name="Exact", declared_members=20)
    make_unit(name="Small", declared_members=5)
    assert eligible_names(app, make_program(eligibility={"min_members": 20})) == ["Big", "Exact"]


def test_on_platform_rule(app, make_unit, make_program):
    make_unit(name="Approved")
    make_unit(name="Pending", platform_status=PlatformStatus.PENDING)
    make_unit(name="Registry only", platform_status=PlatformStatus.NOT_JOINED)
    assert eligible_names(app, make_program(eligibility={"on_platform": True})) == ["Approved"]


def test_rules_combine_all_must_hold(app, make_unit, make_program, make_assessment, today):
    last = today.year - 1
    fits = make_unit(name="Fits", kind=UnitKind.COOPERATIVE, sector=Sector.AGRICULTURE, declared_members=12)
    wrong_kind = make_unit(name="THT", kind=UnitKind.COOPERATIVE_GROUP, declared_members=12)
    wrong_grade = make_unit(name="Weak", declared_members=12)
    small = make_unit(name="Small", declared_members=3)
    wrong_sector = make_unit(name="Craft", sector=Sector.NON_AGRICULTURE, declared_members=12)
    for unit in (fits, wrong_kind, small, wrong_sector):
        make_assessment(unit, last, "good")
    make_assessment(wrong_grade, last, "weak")
    rules = {"kinds": ["HTX"], "sectors": ["agriculture"], "grades": ["good"], "min_members": 10, "on_platform": True}
    assert eligible_names(app, make_program(eligibility=rules)) == ["Fits"]


def test_is_eligible_for_one_unit(app, ctx, make_unit, make_program):
    from ktt_market.extensions import db
    from ktt_market.programs.eligibility import is_eligible
    from ktt_market.programs.models import SupportProgram
    from ktt_market.registry.models import Unit

    htx = make_unit(kind=UnitKind.COOPERATIVE)
    tht = make_unit(kind=UnitKind.COOPERATIVE_GROUP)
    other = make_unit(ward_code=WARD_91)
    program = db.session.get(SupportProgram, make_program(eligibility={"kinds": ["HTX"]}).id)
    assert is_eligible(program, db.session.get(Unit, htx.id))
    assert not is_eligible(program, db.session.get(Unit, tht.id))
    assert not is_eligible(program, db.session.get(Unit, other.id))


def test_rules_round_trip_and_ignore_invalid_values():
    from ktt_market.programs.eligibility import Rules

    stored = {"kinds": ["HTX", "nonsense"], "grades": ["good"], "ward_codes": ["28777", "x"], "min_members": 0}
    rules = Rules.parse(stored)
    assert rules.to_json() == {"kinds": ["HTX"], "grades": ["good"], "ward_codes": [28777]}
    assert Rules.parse({}).to_json() == {}
