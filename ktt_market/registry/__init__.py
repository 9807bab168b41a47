"""Registry area."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from .cli import registry_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(registry_cli)
