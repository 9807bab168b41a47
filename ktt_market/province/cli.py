"""`flask report annual`: the annual report from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale

from ..core import places
from . import report as reports

report_cli = AppGroup("report", help="Province reports.")


@report_cli.command("annual")
@click.option("--year", type=int, required=True, help="The year of the report, e.g. 2024.")
@click.option("--province", type=int, default=None, help="Province code (2 digits); omitted: the whole country.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "xlsx", "html"]), default="json", show_default=True, help="Output."
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write.")
def annual_command(year: int, province: int | None, fmt: str, output: Path | None) -> None:
    """Write the annual collective-economy report of a province (JSON to standard output unless --output)."""
    if province is not None and not places.is_province(province):
        raise click.BadParameter(f"{province} is not a province code", param_hint="--province")
    if not 1900 <= year <= 9999:
        raise click.BadParameter(f"{year} is not a year", param_hint="--year")
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        raise click.UsageError("An XLSX workbook needs --output PATH (or a redirected standard output).")
    # Commands have no visitor: the report speaks the platform's default language.
    with current_app.test_request_context(), force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        if fmt == "json":
            data: bytes = (reports.report_json(reports.annual_report(province, year)) + "\n").encode()
        else:
            details = reports.report_details(province, year)
            if fmt == "xlsx":
                data = reports.report_workbook(details)
            else:
                data = render_template(
                    "province/report_document.html",
                    details=details,
                    title=reports.report_title(province, year),
                    links=False,
                    CHECK_TITLES=reports.CHECK_TITLES,
                    GRADE_LABELS=reports.GRADE_LABELS,
                    finding_detail=reports.finding_detail,
                    pct=reports.format_percent,
                ).encode()
    if output is None:
        click.echo(data, nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"{output}: {len(data)} bytes", err=True)
