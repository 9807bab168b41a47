"""Notices through the workers: opening a program, and the deadline reminder."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ktt_market.programs.models import ApplicationStatus
from ktt_market.registry.models import PlatformStatus, StaffRole, UnitKind

pytestmark = pytest.mark.core


def outbox(app, kind):
    from ktt_market.extensions import db
    from ktt_market.notifications.models import Channel, OutboxMessage

    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.user_id, OutboxMessage.key)
            .where(OutboxMessage.kind == kind, OutboxMessage.channel == Channel.INAPP)
            .order_by(OutboxMessage.user_id)
        ).all()
        db.session.remove()
    return rows


def test_notify_eligible_tells_staff_of_eligible_units_once(app, make_unit, make_staff, make_user, make_program):
    from ktt_market.programs.tasks import notify_eligible

    htx = make_unit(kind=UnitKind.COOPERATIVE)
    owner = make_staff(htx)
    clerk = make_staff(htx, role=StaffRole.STAFF)
    tht = make_unit(kind=UnitKind.COOPERATIVE_GROUP)
    make_staff(tht)  # not eligible: not told
    other = make_unit(ward_code=30292)
    make_staff(other)  # another province: not told
    make_unit(platform_status=PlatformStatus.NOT_JOINED)  # eligible, not reachable online
    make_user()  # a buyer
    program = make_program(eligibility={"kinds": ["HTX"]})

    with app.app_context():
        first = notify_eligible(program.id)
    rows = outbox(app, "program_opened")
    assert [r.user_id for r in rows] == sorted([owner.id, clerk.id])
    assert all(f"program-{program.id}-unit-{htx.id}" in r.key for r in rows)
    assert first == 4  # two users, e-mail and in-app each

    with app.app_context():
        assert notify_eligible(program.id) == 0
    assert len(outbox(app, "program_opened")) == 2


def test_notify_eligible_does_nothing_for_a_draft(app, make_unit, make_staff, make_program):
    from ktt_market.programs.models import ProgramStatus
    from ktt_market.programs.tasks import notify_eligible

    make_staff(make_unit())
    program = make_program(status=ProgramStatus.DRAFT)
    with app.app_context():
        assert notify_eligible(program.id) == 0
        assert notify_eligible(999_999) == 0


def test_reach_counts_eligible_units_not_reachable_online(app, ctx, make_unit, make_program):
    from ktt_market.extensions import db
    from ktt_market.programs.models import SupportProgram
    from ktt_market.programs.services import program_reach

    make_unit()
    make_unit(platform_status=PlatformStatus.NOT_JOINED)
    make_unit(platform_status=PlatformStatus.PENDING)
    reach = program_reach(db.session.get(SupportProgram, make_program().id))
    assert (reach["eligible"], reach["eligible_reachable"], reach["eligible_unreachable"]) == (3, 1, 2)


def test_deadline_reminder_three_days_before_once_and_not_to_applicants(
    app, make_unit, make_staff, make_program, make_application, today
):
    from ktt_market.programs.tasks import deadline_reminders

    waiting = make_unit(name="Not applied")
    waiting_owner = make_staff(waiting)
    applied = make_unit(name="Applied")
    make_staff(applied)
    program = make_program(closes_on=today + dt.timedelta(days=10))
    make_application(program, applied, status=ApplicationStatus.SUBMITTED)
    closes = today + dt.timedelta(days=10)

    with app.app_context():
        assert deadline_reminders((closes - dt.timedelta(days=4)).isoformat()) == 0
    assert outbox(app, "program_deadline") == []

    with app.app_context():
        assert deadline_reminders((closes - dt.timedelta(days=3)).isoformat()) == 2
    rows = outbox(app, "program_deadline")
    assert [r.user_id for r in rows] == [waiting_owner.id]
    assert rows[0].key.startswith(f"program_deadline:program-{program.id}-unit-{waiting.id}-deadline:")

    with app.app_context():
        assert deadline_reminders((closes - dt.timedelta(days=2)).isoformat()) == 0
        assert deadline_reminders((closes + dt.timedelta(days=1)).isoformat()) == 0
    assert len(outbox(app, "program_deadline")) == 1


def test_deadline_reminder_skips_closed_programs(app, make_unit, make_staff, make_program, today):
    from ktt_market.programs.models import ProgramStatus
    from ktt_market.programs.tasks import deadline_reminders

    make_staff(make_unit())
    make_program(status=ProgramStatus.CLOSED, closes_on=today + dt.timedelta(days=2))
    with app.app_context():
        assert deadline_reminders(today.isoformat()) == 0


def test_notify_open_catches_up_on_open_programs(app, make_unit, make_staff, make_program):
    from ktt_market.extensions import db
    from ktt_market.notifications.models import OutboxMessage
    from ktt_market.programs.tasks import notify_open

    make_staff(make_unit())
    make_program()
    with app.app_context():
        assert notify_open() == 2
        assert notify_open() == 0
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2


def test_notification_renders(app, make_unit, make_staff, make_program):
    from ktt_market.extensions import db
    from ktt_market.notifications.channels import _context
    from ktt_market.notifications.models import OutboxMessage
    from ktt_market.programs.tasks import notify_eligible

    make_staff(make_unit(name="HTX Bưởi"))
    program = make_program(title="Chương trình thử")
    with app.test_request_context():
        notify_eligible(program.id)
        message = db.session.scalars(select(OutboxMessage)).first()
        from flask import render_template

        ctx = _context(message)
        text = render_template("email/notifications/program_opened.txt", **ctx)
        assert "HTX Bưởi" in text and "Chương trình thử" in text
        assert "Chương trình thử" in ctx["title"]
        short = render_template("notifications/short/program_deadline.txt", **ctx)
        assert program.closes_on.strftime("%d/%m/%Y") in short
