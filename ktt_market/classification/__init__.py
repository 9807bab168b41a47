"""Classification area."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    """Register the classification pages and the `flask classification` commands."""
    from .cli import classification_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(classification_cli)
