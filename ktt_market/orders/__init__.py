"""Orders area: the cart, checkout, purchases split into one order per cooperative, and their states."""

from celery.schedules import crontab
from flask import Flask
from flask_login import user_logged_in

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import tasks  # noqa: F401  (registers the periodic tasks with Celery)
    from .cli import orders_cli
    from .views import bp, merge_visitor_cart

    app.register_blueprint(bp)
    app.cli.add_command(orders_cli)
    # A visitor's cart follows them into their account when they log in (or register).
    user_logged_in.connect(merge_visitor_cart, app)

    celery = app.extensions.get("celery")
    if celery is not None:
        schedule = dict(celery.conf.beat_schedule or {})
        schedule.setdefault("orders-expire-unpaid", {"task": "orders.expire_unpaid", "schedule": 300.0})
        schedule.setdefault("orders-complete-delivered", {"task": "orders.complete_delivered", "schedule": 3600.0})
        # The Celery app keeps Vietnam time: 07:00 local, yesterday's digest.
        schedule.setdefault(
            "orders-daily-digest", {"task": "orders.daily_digest", "schedule": crontab(hour=7, minute=0)}
        )
        celery.conf.beat_schedule = schedule
