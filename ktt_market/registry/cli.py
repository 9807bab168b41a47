"""`flask registry import PATH`: load the official registry from a CSV or XLSX file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _

from ..core.errors import ServiceError
from ..core.spreadsheets import SpreadsheetError, read_sheet
from ..extensions import db
from .importing import apply_import, import_scope, plan_sheet

registry_cli = AppGroup("registry", help="The registry of cooperatives and other units.")


def _stderr_bar(length: int, label: str):
    # Progress goes to stderr so that stdout carries only the summary (scripts can read it).
    return click.progressbar(length=max(length, 1), label=label, file=sys.stderr)


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--province", "province_code", type=int, default=None, help="Refuse rows outside this province.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--lang", default=None, help="Language of the messages (default: the site's, Vietnamese).")
def import_command(path: Path, province_code: int | None, dry_run: bool, lang: str | None) -> None:
    """Import units from PATH (CSV or XLSX, told apart by content), keyed by registration_code."""
    languages = current_app.config["LANGUAGES"]
    if lang is not None and lang not in languages:
        raise click.BadParameter(", ".join(languages), param_hint="--lang")
    # Outside a request there is no user or session to choose a language from: it is given or the default.
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            import_scope(None, province_code)
        except ServiceError as exc:
            raise click.BadParameter(exc.message, param_hint="--province") from None
        try:
            sheet = read_sheet(path.read_bytes())
        except SpreadsheetError:
            unreadable = _("the file cannot be read: upload a UTF-8 CSV or an XLSX file")
            click.echo(_("row %(row)d: %(message)s", row=1, message=unreadable), err=True)
            raise click.exceptions.Exit(1) from None

        with _stderr_bar(len(sheet.rows), _("Checking")) as bar:
            plan = plan_sheet(sheet, actor=None, province_code=province_code, progress=bar.update)
        if not plan.ok:
            for error in plan.errors:
                click.echo(str(error), err=True)
            click.echo(_("%(n)d error(s): nothing was written.", n=len(plan.errors)), err=True)
            raise click.exceptions.Exit(1)

        if dry_run:
            click.echo(_("Dry run, nothing written: %(summary)s", summary=plan.summary()))
            return
        with _stderr_bar(plan.created + plan.updated, _("Writing")) as bar:
            apply_import(plan, progress=bar.update, source=path.name)
        db.session.commit()
        click.echo(plan.summary())
