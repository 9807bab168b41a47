"""`flask demo load`: a believable demo that can be loaded twice without harm."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form

pytestmark = pytest.mark.core

DEMO_LOGINS = ("buyer@ktt.vn", "manager@ktt.vn", "officer@ktt.vn", "admin@ktt.vn")


def _counts(app) -> dict[str, int]:
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.members.models import CapitalEntry, Member
    from ktt_market.registry.models import Unit, UnitApplication, UnitStaff

    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Unit, UnitApplication, UnitStaff, Member, CapitalEntry)
        }


@cache
def _hash(password: str) -> str:
    from ktt_market.accounts.passwords import hash_password

    return hash_password(password)


@pytest.fixture
def loaded(app, runner, monkeypatch):
    # Argon2id is slow on purpose; the demo's eleven accounts share one real hash per test session.
    monkeypatch.setattr("ktt_market.demo.data.hash_password", _hash)
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_load_says_what_it_added_and_how_to_log_in(loaded):
    assert "Demo data loaded" in loaded.output
    assert "ktt-demo-2026" in loaded.output
    assert "/account/login" in loaded.output
    for email in DEMO_LOGINS:
        assert email in loaded.output


def test_second_run_adds_nothing_and_says_so(app, runner, loaded):
    before = _counts(app)

    again = runner.invoke(args=["demo", "load"])

    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    assert _counts(app) == before


@pytest.mark.parametrize("email", DEMO_LOGINS)
def test_demo_logins_work_through_the_login_form(app, loaded, email):
    client = app.test_client()

    response = post_form(client, "/account/login", {"email": email, "password": "ktt-demo-2026"})

    assert response.status_code == 302
    assert client.get("/account/").status_code == 200


def test_demo_accounts_have_their_roles(app, loaded):
    from ktt_market.accounts.models import Role, User
    from ktt_market.extensions import db

    with app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(DEMO_LOGINS)))}
        assert users["buyer@ktt.vn"].role is Role.BUYER
        assert users["officer@ktt.vn"].role is Role.OFFICER
        assert users["officer@ktt.vn"].province_code == 86
        assert users["admin@ktt.vn"].role is Role.ADMIN
        assert all(u.password_hash.startswith("$argon2id$") for u in users.values())


def test_manager_owns_an_approved_cooperative(app, loaded):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.registry.models import PlatformStatus, StaffRole, UnitKind, UnitStaff

    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == "manager@ktt.vn"))
        links = list(db.session.scalars(select(UnitStaff).where(UnitStaff.user_id == manager.id)))
        assert [link.role for link in links] == [StaffRole.OWNER]
        unit = links[0].unit
        assert unit.kind is UnitKind.COOPERATIVE
        assert unit.platform_status is PlatformStatus.APPROVED
        assert unit.approved_at is not None and unit.approved_at.tzinfo is not None
        assert unit.can_sell


def test_every_kind_in_wards_of_vinh_long(app, loaded):
    from ktt_market.core.places import wards_of
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit, UnitKind

    with app.app_context():
        units = list(db.session.scalars(select(Unit)))
    assert {u.kind for u in units} == set(UnitKind)
    wards = wards_of(86)
    assert all(u.province_code == 86 and u.ward_code in wards for u in units)
    # Spread over the former Trà Vinh, Vĩnh Long and Bến Tre (their ward codes run in that order of blocks).
    assert any(u.ward_code < 29242 for u in units)  # Bến Tre
    assert any(29242 <= u.ward_code < 29551 for u in units)  # Trà Vinh
    assert any(u.ward_code >= 29551 for u in units)  # Vĩnh Long


def test_units_have_a_history_and_sane_numbers(app, loaded):
    from ktt_market.extensions import db
    from ktt_market.registry.models import OperatingState, PlatformStatus, Unit, UnitApplication

    today = dt.date(2026, 1, 1)
    with app.app_context():
        units = list(db.session.scalars(select(Unit)))
        states = {u.state_on(today) for u in units}
        assert {OperatingState.ACTIVE, OperatingState.STOPPED, OperatingState.DISSOLVED} <= states
        assert any(u.founded_on.year == 2025 for u in units)
        assert all(dt.date(2010, 1, 1) <= u.founded_on <= dt.date(2025, 12, 31) for u in units)
        assert all(isinstance(u.charter_capital_vnd, int) and u.charter_capital_vnd >= 0 for u in units)
        assert all(u.declared_members > 0 for u in units)
        by_status = {s: [u for u in units if u.platform_status is s] for s in PlatformStatus}
        assert by_status[PlatformStatus.APPROVED] and by_status[PlatformStatus.PENDING]
        assert len(by_status[PlatformStatus.NOT_JOINED]) > len(units) / 2
        for unit in by_status[PlatformStatus.PENDING]:
            pending = db.session.scalars(select(UnitApplication).where(UnitApplication.unit_id == unit.id)).all()
            assert [a.status.value for a in pending] == ["pending"]


def test_registers_have_officers_and_balanced_capital(app, loaded):
    from ktt_market.extensions import db
    from ktt_market.members.models import Member, MemberRole
    from ktt_market.registry.models import Unit

    with app.app_context():
        members = list(db.session.scalars(select(Member)))
        units = {m.unit_id for m in members}
        assert len(units) >= 3
        for unit_id in units:
            roles = {m.role for m in members if m.unit_id == unit_id}
            assert {MemberRole.CHAIR, MemberRole.DIRECTOR, MemberRole.SUPERVISORY, MemberRole.MEMBER} <= roles
            unit = db.session.get(Unit, unit_id)
            assert sum(1 for m in members if m.unit_id == unit_id) <= unit.declared_members
        for member in members:
            balance = sum(e.signed_amount for e in member.entries)
            assert balance >= 0
            assert all(e.entry_date >= member.joined_on for e in member.entries)
            if member.left_on is not None:
                assert balance == 0
        assert any(e.kind.value == "returned" for m in members for e in m.entries)
