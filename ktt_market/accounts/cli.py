"""Account commands for operators: `flask accounts create-user`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.errors import ServiceError
from ..core.places import is_province, province_name
from ..extensions import db
from . import services
from .models import Role

accounts_cli = AppGroup("accounts", help="User accounts.")


@accounts_cli.command("create-user")
@click.option("--email", required=True, help="Login e-mail.")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.BUYER.value,
    show_default=True,
    help="What the account may act as.",
)
@click.option("--province", "province_code", type=int, default=None, help="Province code (officers only).")
@click.password_option("--password", help="Prompted for (hidden, twice) when not given.")
def create_user(email: str, full_name: str, role: str, province_code: int | None, password: str) -> None:
    """Create a user account; officers need the province they work for."""
    role_ = Role(role)
    if role_ is Role.OFFICER:
        if province_code is None:
            raise click.UsageError("An officer needs --province CODE.")
        if not is_province(province_code):
            raise click.UsageError(f"There is no province with code {province_code}.")
    elif province_code is not None:
        raise click.UsageError("--province applies to officers only.")
    try:
        user = services.register_user(
            email=email, password=password, full_name=full_name, role=role_, province_code=province_code
        )
    except ServiceError as exc:
        # ServiceError messages are already translated; the CLI speaks the default language.
        raise click.ClickException(exc.message) from None
    db.session.commit()
    where = f", {province_name(user.province_code)}" if user.province_code else ""
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}{where}).")
