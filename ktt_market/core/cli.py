"""What the `flask <area> import PATH` commands share: their options, the messages' language, the file's reading."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .spreadsheets import Sheet, SpreadsheetError, read_sheet


def import_options(command: Callable) -> Callable:
    """Add PATH, --province, --dry-run and --lang to a spreadsheet import command."""
    options = (
        click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--province", "province_code", type=int, default=None, help="Refuse rows outside this province."),
        click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing."),
        click.option("--lang", default=None, help="Language of the messages (default: the site's, Vietnamese)."),
    )
    for option in reversed(options):
        command = option(command)
    return command


@contextmanager
def command_locale(lang: str | None) -> Iterator[None]:
    """Speak `lang` (or the site's default language) for the command's messages.

    Outside a request there is no user or session to choose a language from: it is given or the default.
    """
    languages = current_app.config["LANGUAGES"]
    if lang is not None and lang not in languages:
        raise click.BadParameter(", ".join(languages), param_hint="--lang")
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        yield


def read_sheet_or_exit(path: Path) -> Sheet:
    """Read PATH as CSV or XLSX, or tell why not on stderr and exit with status 1."""
    try:
        return read_sheet(path.read_bytes())
    except SpreadsheetError:
        unreadable = _("the file cannot be read: upload a UTF-8 CSV or an XLSX file")
        click.echo(_("row %(row)d: %(message)s", row=1, message=unreadable), err=True)
        raise click.exceptions.Exit(1) from None


def refuse_with_errors(errors: list) -> None:
    """Print each error of a refused file on stderr and exit with status 1: nothing was written."""
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(_("%(n)d error(s): nothing was written.", n=len(errors)), err=True)
    raise click.exceptions.Exit(1)
