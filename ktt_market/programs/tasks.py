"""Notices of support programs, written to the outbox by the workers."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from flask import current_app

from ..extensions import db
from . import services
from .models import SupportProgram

log = logging.getLogger(__name__)


@shared_task(name="programs.notify_eligible")
def notify_eligible(program_id: int) -> int:
    """Owe the staff of each reachable eligible unit the news that program `program_id` opened."""
    program = db.session.get(SupportProgram, program_id)
    if program is None:
        return 0
    added = services.notify_eligible(program)
    db.session.commit()
    return added


@shared_task(name="programs.deadline_reminders")
def deadline_reminders(day: str | None = None) -> int:
    """Remind eligible units that have not applied that a program closes within 3 days (ISO `day`: today)."""
    added = services.deadline_reminders(dt.date.fromisoformat(day) if day else None)
    db.session.commit()
    return added


@shared_task(name="programs.notify_open")
def notify_open() -> int:
    """Catch up on notices of every open program (the broker was down at opening; a unit became eligible)."""
    added = 0
    for program in services.open_programs_in_window():
        added += services.notify_eligible(program)
    db.session.commit()
    return added


def queue_notify(program_id: int) -> bool:
    """Hand a committed opening to the workers now; with the broker down, `programs.notify_open` catches up.

    Off under tests unless PROGRAMS_QUEUE_AFTER_COMMIT says so: tests call the tasks directly.
    """
    if not current_app.config.get("PROGRAMS_QUEUE_AFTER_COMMIT", not current_app.testing):
        return False
    try:
        # No publish retries: a page must not wait for a broker that is away.
        notify_eligible.apply_async((program_id,), retry=False)
    except Exception as exc:  # the program is open in the database whatever the broker did
        log.warning("broker unavailable, program %s left to the sweep: %s", program_id, type(exc).__name__)
        return False
    return True
