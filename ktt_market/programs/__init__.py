"""Programs area: support programs, eligibility, applications, decisions, disbursements and reach."""

from celery.schedules import crontab
from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    """Register the pages and the periodic deadline reminder."""
    from . import tasks  # noqa: F401  (registers the tasks with Celery)
    from .views import bp

    app.register_blueprint(bp)
    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        # The Celery app keeps Vietnam time: 08:00 local, every day.
        schedule.setdefault(
            "programs-deadline-reminders",
            {"task": "programs.deadline_reminders", "schedule": crontab(hour=8, minute=0)},
        )
        schedule.setdefault("programs-notify-open", {"task": "programs.notify_open", "schedule": 3600.0})
        celery.conf.beat_schedule = schedule
