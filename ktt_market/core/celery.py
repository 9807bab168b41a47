"""Celery wired to the Flask app (the pattern of Flask's own documentation)."""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task, signals
from flask import Flask
from kombu.transport.sqlalchemy import Transport as SQLATransport


def _broker_settings(app: Flask) -> dict:
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return {
            "broker_url": redis_url,
            "result_backend": redis_url,
            # Publishing happens after a request commits: a hung Redis must cost seconds, not the request.
            "broker_connection_timeout": 2,
            "broker_transport_options": {"socket_connect_timeout": 2, "socket_timeout": 5},
            "redis_socket_connect_timeout": 2,
            "redis_socket_timeout": 5,
        }
    # Embedded default: a real broker on SQLite, by absolute path so every process shares it.
    instance = Path(app.instance_path).resolve()
    return {
        # Kombu's database transport (the `sqla+` scheme), through the subclass below.
        "broker_url": f"sqlite:///{instance / 'celery-broker.db'}",
        "broker_transport": f"{__name__}:EmbeddedTransport",
        "result_backend": f"db+sqlite:///{instance / 'celery-results.db'}",
    }


class EmbeddedTransport(SQLATransport):
    """Kombu's database transport, polling ten times a second.

    It takes one task per poll, so the default 1 s caps a worker at about one task a second; a poll
    is one indexed SQLite read. (The interval cannot go in the transport options: this transport
    hands those to `create_engine`, which refuses unknown ones.)
    """

    polling_interval = 0.1


@signals.worker_process_init.connect
@signals.beat_init.connect
def forget_inherited_connections(sender=None, **_kwargs) -> None:
    """Drop, without closing, the database connections a forked pool child or embedded beat inherited.

    Whatever the parent process opened before forking (its heartbeat has an engine of its own, but any
    start-up code may query), a child that used those connections would share the parent's sockets
    (SQLAlchemy's advice for os.fork: dispose with close=False).
    """
    from celery import current_app as current_celery

    from ..extensions import db

    app = getattr(current_celery, "flask_app", None)
    if app is not None:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app for `app`; tasks run inside an application context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    settings = {
        **_broker_settings(app),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "timezone": "Asia/Ho_Chi_Minh",
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
    }
    settings.update(app.config.get("CELERY", {}))
    celery_app.config_from_object(settings)
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    celery_app.flask_app = app
    return celery_app
