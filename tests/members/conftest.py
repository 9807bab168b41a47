"""Members area fixtures: a unit with an owner, and helpers that build a register through the services."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

JOINED = dt.date(2021, 3, 1)


@pytest.fixture
def unit(make_unit):
    return make_unit(declared_members=12)


@pytest.fixture
def owner(make_staff, unit):
    return make_staff(unit)


@pytest.fixture
def svc(ctx, unit, owner):
    """The unit and its owner attached to the session, for calling services directly.

    Messages are asserted in English, so they keep holding once the Vietnamese catalogue is filled.
    """
    from flask_babel import force_locale

    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit

    with force_locale("en"):
        yield SimpleNamespace(unit=db.session.get(Unit, unit.id), actor=db.session.get(User, owner.id))


@pytest.fixture
def new_member(svc):
    """Add a member to the fixture unit through the service (flushed, not committed)."""
    from ktt_market.members.services import MemberData, add_member

    def make(full_name: str = "Nguyễn Văn An", joined_on: dt.date = JOINED, unit=None, **fields):
        data = MemberData(full_name=full_name, joined_on=joined_on, **fields)
        return add_member(unit or svc.unit, actor=svc.actor, data=data)

    return make


@pytest.fixture
def seed(app):
    """Commit a register for `unit_id` outside any request; return the member ids."""
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.members import services
    from ktt_market.registry.models import Unit

    def make(unit, actor, members: list[dict], capital: dict[int, int] | None = None) -> list[int]:
        ids = []
        with app.test_request_context():
            u = db.session.get(Unit, unit.id)
            a = db.session.get(User, actor.id)
            for i, fields in enumerate(members):
                fields = {"full_name": f"Thành viên {i + 1}", "joined_on": JOINED, **fields}
                m = services.add_member(u, actor=a, data=services.MemberData(**fields))
                if capital and i in capital:
                    services.record_contribution(
                        m, actor=a, kind="contributed", amount_vnd=capital[i], entry_date=m.joined_on
                    )
                ids.append(m.id)
            db.session.commit()
            db.session.remove()
        return ids

    return make
