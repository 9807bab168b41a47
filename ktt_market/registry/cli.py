"""`flask registry import PATH`: load the official registry from a CSV or XLSX file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..core.cli import command_locale, import_options, read_sheet_or_exit, refuse_with_errors
from ..core.errors import ServiceError
from ..extensions import db
from .importing import apply_import, import_scope, plan_sheet

registry_cli = AppGroup("registry", help="The registry of cooperatives and other units.")


def _stderr_bar(length: int, label: str):
    # Progress goes to stderr so that stdout carries only the summary (scripts can read it).
    return click.progressbar(length=max(length, 1), label=label, file=sys.stderr)


@registry_cli.command("import")
@import_options
def import_command(path: Path, province_code: int | None, dry_run: bool, lang: str | None) -> None:
    """Import units from PATH (CSV or XLSX, told apart by content), keyed by registration_code."""
    with command_locale(lang):
        try:
            import_scope(None, province_code)
        except ServiceError as exc:
            raise click.BadParameter(exc.message, param_hint="--province") from None
        sheet = read_sheet_or_exit(path)
        with _stderr_bar(len(sheet.rows), _("Checking")) as bar:
            plan = plan_sheet(sheet, actor=None, province_code=province_code, progress=bar.update)
        if not plan.ok:
            refuse_with_errors(plan.errors)
        if dry_run:
            click.echo(_("Dry run, nothing written: %(summary)s", summary=plan.summary()))
            return
        with _stderr_bar(plan.created + plan.updated, _("Writing")) as bar:
            apply_import(plan, progress=bar.update, source=path.name)
        db.session.commit()
        click.echo(plan.summary())
