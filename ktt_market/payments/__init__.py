"""Payments area: card (Stripe), VietQR bank transfer and cash on delivery behind one payment interface."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import ledger

    ledger.guard_append_only()
