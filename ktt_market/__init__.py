"""KTT Market: the marketplace and monitoring platform of Vietnam's collective economy."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: config, extensions, areas, in that order."""
    # KTT_INSTANCE_PATH moves the writable folder (database, secret key, uploads, embedded broker).
    instance = os.environ.get("KTT_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()) if instance else None,
        instance_relative_config=True,
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)

    # 1. Configuration: environment first, then whatever a test asks for.
    from .config import load_config

    app.config.update(load_config(instance_path))
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every start

    # 2. Extensions.
    from .core import i18n, security
    from .extensions import csrf, db, limiter, login_manager

    db.init_app(app)
    _init_migrations(app, db)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)

    # 3. Background work (Celery), configured from the same settings.
    from .core.celery import celery_init_app

    celery_init_app(app)

    # 4. Areas: models are imported with their blueprints, so Alembic sees them all.
    from . import (
        accounts,
        audit,
        catalog,
        classification,
        core,
        exports,
        health,
        members,
        notifications,
        orders,
        payments,
        programs,
        province,
        registry,
        reviews,
        sales,
    )

    core.init_app(app)
    areas = (
        accounts,
        audit,
        registry,
        members,
        catalog,
        orders,
        payments,
        reviews,
        sales,
        classification,
        programs,
        province,
        notifications,
        exports,
        health,
    )
    for area in areas:
        area.init_app(app)

    # 5. Commands that span areas.
    from .demo import cli as demo_cli

    app.cli.add_command(demo_cli.demo)

    # 6. Behind a load balancer: outermost, so every layer sees the client's scheme and host.
    security.trust_proxies(app)
    return app


def _init_migrations(app: Flask, db) -> None:
    """Set up Flask-Migrate (and its `flask db` commands) where migrations are run: the `flask` command line
    and the tests.

    Gunicorn and Celery processes are spared Alembic and its template and highlighting libraries (about
    8 MB resident in every web and worker process).
    """
    if not (_in_flask_command() or "flask_migrate" in sys.modules):
        return
    from flask_migrate import Migrate

    Migrate(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"), render_as_batch=True)


def _in_flask_command() -> bool:
    """Whether the app is being built by the `flask` command (not by gunicorn, Celery or a script)."""
    import click
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.find_root().command, FlaskGroup)
