"""Audit area."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    """Register the audit log's page."""
    from .views import bp

    app.register_blueprint(bp)
