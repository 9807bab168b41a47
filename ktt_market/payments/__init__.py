"""Payments area: card (Stripe), VietQR bank transfer and cash on delivery behind one payment interface."""

from flask import Flask

from . import models  # noqa: F401  (registers the models)


def init_app(app: Flask) -> None:
    from . import ledger

    ledger.guard_append_only()

    # What each cooperative is owed: statements and the admin's payout runs.
    from .ledger_views import bp as ledger_bp

    app.register_blueprint(ledger_bp)

    # Cash on delivery and bank transfer (VietQR), and their pages.
    from . import methods, views

    methods.register_methods()
    app.register_blueprint(views.bp)

    # Card payments through Stripe: the method, its webhook, refunds and the officer's returns page.
    from .card import init_card

    init_card(app)
