"""Health area: the worker heartbeat and the admin page on background work (queue, heartbeat, failures)."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import tasks  # noqa: F401  (registers the tasks)
    from .views import bp

    app.register_blueprint(bp)

    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        every = float(app.config.get("HEARTBEAT_SECONDS", 30))
        schedule.setdefault("health-heartbeat", {"task": "health.heartbeat", "schedule": every})
        celery.conf.beat_schedule = schedule
        from .worker import heartbeat_step

        celery.steps["worker"].add(heartbeat_step(app))
