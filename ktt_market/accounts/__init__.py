"""Accounts area: users, roles, login."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ..extensions import db, login_manager
from . import models


def init_app(app: Flask) -> None:
    from .cli import accounts_cli
    from .views import bp

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        uid, _, version = user_id.partition(":")
        if not uid.isdigit() or not version.isdigit():
            return None
        user = db.session.get(models.User, int(uid))
        if user is None or user.auth_version != int(version):
            return None  # the password changed since this session began
        return user

    app.register_blueprint(bp)
    app.cli.add_command(accounts_cli)
