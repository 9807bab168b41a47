"""`flask orders expire-unpaid`, `complete-delivered` and `digest`: the periodic tasks, by hand."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from ..extensions import db
from .digest import previous_local_day, send_daily_digests
from .states import complete_delivered_orders, expire_unpaid_orders

orders_cli = AppGroup("orders", help="Orders housekeeping.")


@orders_cli.command("expire-unpaid")
def expire_unpaid_command() -> None:
    """Cancel orders left unpaid past their deadline, returning their stock."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        done = expire_unpaid_orders()
    db.session.commit()
    click.echo(f"{done} unpaid order(s) cancelled")


@orders_cli.command("complete-delivered")
@click.option("--after-days", type=int, default=None, help="Days after delivery (default 14).")
def complete_delivered_command(after_days: int | None) -> None:
    """Complete orders delivered at least N days ago."""
    days = after_days if after_days is not None else int(current_app.config.get("ORDER_COMPLETE_AFTER_DAYS", 14))
    done = complete_delivered_orders(after_days=days)
    db.session.commit()
    click.echo(f"{done} delivered order(s) completed")


@orders_cli.command("digest")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The local day to report on, YYYY-MM-DD (default: yesterday in Vietnam).",
)
def digest_command(day: dt.datetime | None) -> None:
    """Owe each cooperative's managers the daily digest (once per unit, day and manager)."""
    report_day = day.date() if day else previous_local_day()
    units, messages = send_daily_digests(report_day)
    db.session.commit()
    click.echo(f"{report_day.isoformat()}: {units} unit(s) with news, {messages} message(s) queued")
