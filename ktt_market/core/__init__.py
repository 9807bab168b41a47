"""Shared building blocks: models, money and dates, access, errors, the pages of no area."""

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp, register_error_handlers

    app.register_blueprint(bp)
    register_error_handlers(app)
