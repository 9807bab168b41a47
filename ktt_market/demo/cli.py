"""`flask demo load`: a believable demo of Vĩnh Long on a fresh database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from .data import DEMO_PASSWORD, LOGINS, load_demo

demo = AppGroup("demo", help="Demo data.")


def _login_address(base_url: str | None) -> str:
    if base_url:
        return base_url.rstrip("/") + "/account/login"
    server = current_app.config.get("SERVER_NAME") or "127.0.0.1:5000"  # `flask run`'s default
    return f"{current_app.config.get('PREFERRED_URL_SCHEME', 'http')}://{server}/account/login"


@demo.command("load")
@click.option("--base-url", default=None, help="Where the site runs, for the printed login address.")
def load(base_url: str | None) -> None:
    """Load the demo data (units, members, four logins); running it again adds nothing."""
    report = load_demo()
    if report.nothing_new:
        db.session.rollback()
        click.echo("The demo data is already loaded: nothing to add.")
    else:
        db.session.commit()
        added = ", ".join(
            f"{count} {what.replace('_', ' ')}" for what, count in sorted(report.created.items()) if count
        )
        click.echo(f"Demo data loaded: {added}.")
    click.echo(f"\nLog in at {_login_address(base_url)} with the password {DEMO_PASSWORD}:")
    for user in LOGINS:
        click.echo(f"  {user.email:<18} {user.title}")
