"""record() and snapshot(): JSON-safe values, no secrets, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json

import pytest

from ktt_market.accounts.models import User
from ktt_market.audit import services as audit
from ktt_market.extensions import db
from ktt_market.registry.models import Unit

from .conftest import PROVINCE

pytestmark = pytest.mark.core


class Colour(enum.StrEnum):
    RED = "red"


def test_snapshot_is_json_safe_and_drops_secrets(ctx, admin):
    class Thing:
        day = dt.date(2024, 3, 1)
        at = dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC)
        colour = Colour.RED
        ratio = decimal.Decimal("80")
        half = decimal.Decimal("72.5")
        password_hash = "secret"

    values = audit.snapshot(Thing(), ["day", "at", "colour", "ratio", "half", "password_hash", "missing"])
    assert values == {
        "day": "2024-03-01",
        "at": "2024-03-01T08:30:00+00:00",
        "colour": "red",
        "ratio": 80,
        "half": "72.5",
        "missing": None,
    }
    json.dumps(values)


def test_changes_keeps_only_what_differs():
    before, after = audit.changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})
    assert (before, after) == ({"b": 2}, {"b": 3, "c": 4})


def test_record_takes_the_units_province_and_the_actors_role(ctx, make_unit, admin):
    unit = db.session.get(Unit, make_unit().id)
    actor = db.session.get(User, admin.id)
    event = audit.record(
        "test.act", actor=actor, obj=unit, summary="Did it", before={"password": "x", "n": 1}, after={"n": 2}
    )
    assert (event.province_code, event.actor_role, event.actor_id) == (PROVINCE, "admin", admin.id)
    assert (event.object_type, event.object_id) == ("units", str(unit.id))
    assert event.before == {"n": 1} and event.after == {"n": 2}


def test_record_without_an_actor_is_the_command_line(ctx):
    event = audit.record("test.cli", actor=None, obj=("registry_import", None), summary="Imported")
    assert (event.actor_role, event.actor_id, event.object_id) == ("cli", None, None)


def test_a_rolled_back_change_leaves_no_event(app, make_unit, officer, events):
    with app.app_context():
        unit = db.session.get(Unit, make_unit().id)
        unit.name = "Tên khác"
        audit.record("test.edit", actor=db.session.get(User, officer.id), obj=unit, summary="Renamed")
        db.session.rollback()
    assert events() == []
    with app.app_context():
        unit = db.session.scalar(db.select(Unit))
        audit.record("test.edit", actor=db.session.get(User, officer.id), obj=unit, summary="Renamed")
        db.session.commit()
    assert [e.action for e in events()] == ["test.edit"]
