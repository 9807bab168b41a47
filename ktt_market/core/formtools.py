"""What every view does with a form that did not go through."""

from __future__ import annotations

from flask import flash, request
from flask_wtf import FlaskForm

from .errors import ServiceError


def form_status() -> int:
    """Return 200 for a page, 422 for a form POST that did not go through."""
    return 200 if request.method == "GET" else 422


def field_error(form: FlaskForm, exc: ServiceError, default: str | None = None) -> None:
    """Show a service's refusal beside the field it names (or `default`); with neither, as a flash message."""
    name = exc.field if exc.field and exc.field in form else default
    if name is None:
        flash(exc.message, "error")
        return
    form[name].errors = [*form[name].errors, exc.message]
