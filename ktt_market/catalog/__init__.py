"""Catalogue area: public browsing and search (views.py), cooperatives' product management (manage_views.py)."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from .manage_views import bp as manage_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(manage_bp)
