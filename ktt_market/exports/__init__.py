"""Exports area: large spreadsheets built in the background, with progress shown and a download when ready."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import tasks  # noqa: F401  (registers the tasks)
    from .views import bp

    app.register_blueprint(bp)

    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        schedule.setdefault(
            "exports-run-queued",
            {"task": "exports.run_queued", "schedule": float(app.config.get("EXPORT_SWEEP_SECONDS", 60))},
        )
        schedule.setdefault("exports-cleanup", {"task": "exports.cleanup", "schedule": 600.0})
        celery.conf.beat_schedule = schedule
