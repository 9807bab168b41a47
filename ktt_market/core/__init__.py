"""Shared building blocks: models, money and dates, access, errors, the pages of no area."""

from flask import Flask


def init_app(app: Flask) -> None:
    from . import assets, pagecache
    from .models import install_text_normalisation
    from .views import bp, register_error_handlers

    install_text_normalisation()
    pagecache.install(app)
    assets.init_app(app)

    app.register_blueprint(bp)
    register_error_handlers(app)
