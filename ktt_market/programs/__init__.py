"""Programs area."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    """Register the area (its pages and commands are added as they land)."""
