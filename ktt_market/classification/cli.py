"""`flask classification import PATH`: bring in past classification results from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _

from ..core.errors import ServiceError
from ..core.spreadsheets import SpreadsheetError, read_sheet
from ..extensions import db
from .importing import apply_import, plan_import

classification_cli = AppGroup("classification", help="The yearly classification of cooperatives.")


@classification_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--province", "province_code", type=int, default=None, help="Refuse rows outside this province.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--lang", default=None, help="Language of the messages (default: the site's, Vietnamese).")
def import_command(path: Path, province_code: int | None, dry_run: bool, lang: str | None) -> None:
    """Import results from PATH: columns registration_code, year, score, rating (all rows or none)."""
    languages = current_app.config["LANGUAGES"]
    if lang is not None and lang not in languages:
        raise click.BadParameter(", ".join(languages), param_hint="--lang")
    # Outside a request no user chooses the language: it is given, or the site's default.
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            sheet = read_sheet(path.read_bytes())
        except SpreadsheetError:
            unreadable = _("the file cannot be read: use a UTF-8 CSV or an XLSX file")
            click.echo(_("row %(row)d: %(message)s", row=1, message=unreadable), err=True)
            raise click.exceptions.Exit(1) from None
        try:
            plan = plan_import(sheet, province_code=province_code)
        except ServiceError as exc:
            raise click.BadParameter(exc.message, param_hint="--province") from None
        if not plan.ok:
            for error in plan.errors:
                click.echo(str(error), err=True)
            click.echo(_("%(n)d error(s): nothing was written.", n=len(plan.errors)), err=True)
            raise click.exceptions.Exit(1)
        if dry_run:
            click.echo(_("Dry run, nothing written: %(summary)s", summary=plan.summary()))
            return
        apply_import(plan, actor=None, source=path.name)
        db.session.commit()
        click.echo(plan.summary())
