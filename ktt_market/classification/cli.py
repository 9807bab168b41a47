"""`flask classification import PATH`: bring in past classification results from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.cli import command_locale, import_options, read_sheet_or_exit, refuse_with_errors
from ..core.errors import ServiceError
from ..extensions import db
from .importing import apply_import, plan_import

classification_cli = AppGroup("classification", help="The yearly classification of cooperatives.")


@classification_cli.command("import")
@import_options
def import_command(path: Path, province_code: int | None, dry_run: bool, lang: str | None) -> None:
    """Import results from PATH: columns registration_code, year, score, rating (all rows or none)."""
    with command_locale(lang):
        sheet = read_sheet_or_exit(path)
        try:
            plan = plan_import(sheet, province_code=province_code)
        except ServiceError as exc:
            raise click.BadParameter(exc.message, param_hint="--province") from None
        if not plan.ok:
            refuse_with_errors(plan.errors)
        if dry_run:
            click.echo(_("Dry run, nothing written: %(summary)s", summary=plan.summary()))
            return
        apply_import(plan, actor=None, source=path.name)
        db.session.commit()
        click.echo(plan.summary())
