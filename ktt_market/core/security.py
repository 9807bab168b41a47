"""Response headers every page carries, and the refusal of control characters no form can hold."""

from __future__ import annotations

import re

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


# C0 control characters but tab, line feed and carriage return: no form field holds one, PostgreSQL cannot store
# NUL, and str.strip() takes \x1c-\x1f for blanks, which lets them slip past WTForms' Optional() unchecked.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _has_control(fields) -> bool:
    return any(_CONTROL.search(key) or _CONTROL.search(value) for key, value in fields.items(multi=True))


def refuse_control_characters() -> tuple[str, int] | None:
    """Refuse a request whose query, form fields or file names carry a control character, before any work."""
    suspect = _has_control(request.args)
    if not suspect and request.mimetype in FORM_TYPES:
        uploads = request.files.items(multi=True)
        suspect = _has_control(request.form) or any(_CONTROL.search(f.filename or "") for name, f in uploads)
    if not suspect:
        return None
    page = render_template(
        "errors/error.html",
        status=400,
        title=_("Characters not allowed"),
        message=_("What you sent contains control characters that cannot be saved. Remove them and try again."),
    )
    return page, 400


def init_app(app: Flask) -> None:
    app.before_request(refuse_control_characters)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("KTT_HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
