"""Notifications area: the outbox of messages owed, their delivery by channel, the inbox and preferences."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import tasks
    from .views import bp

    app.register_blueprint(bp)
    tasks.enqueue_after_commit()

    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        every = float(app.config.get("NOTIFY_DISPATCH_SECONDS", 15))
        schedule.setdefault("notifications-dispatch", {"task": "notifications.dispatch_pending", "schedule": every})
        schedule.setdefault("notifications-warn-expiring", {"task": "notifications.warn_expiring", "schedule": 300.0})
        celery.conf.beat_schedule = schedule
