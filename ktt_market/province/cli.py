"""`flask report annual`: the annual report from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

report_cli = AppGroup("report", help="Province reports.")
