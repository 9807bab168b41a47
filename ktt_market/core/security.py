"""Response headers every page carries; control characters, which no form field holds, kept out."""

from __future__ import annotations

import re

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix

from .storage import image_origin

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(config: dict) -> str:
    """Return the CSP for this deployment: images may also come from the S3 bucket's public origin."""
    origin = image_origin(config)
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {origin}") if origin else CSP


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


# C0 control characters but tab, line feed and carriage return: no form field holds one, PostgreSQL cannot store
# NUL, and str.strip() takes \x1c-\x1f for blanks, which lets them slip past WTForms' Optional() unchecked.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _has_control(fields) -> bool:
    return any(_CONTROL.search(key) or _CONTROL.search(value) for key, value in fields.items(multi=True))


def drop_or_refuse_control_characters() -> tuple[str, int] | None:
    """Drop control characters from the query string; refuse a form that carries one, before any work."""
    if _has_control(request.args):
        # A query only reads: the characters are ignored, as a search ignores punctuation.
        request.args = ImmutableMultiDict(
            (_CONTROL.sub("", key), _CONTROL.sub("", value)) for key, value in request.args.items(multi=True)
        )
    if request.mimetype not in FORM_TYPES:
        return None
    uploads = request.files.items(multi=True)
    if not (_has_control(request.form) or any(_CONTROL.search(f.filename or "") for name, f in uploads)):
        return None
    page = render_template(
        "errors/error.html",
        status=400,
        title=_("Characters not allowed"),
        message=_("What you sent contains control characters that cannot be saved. Remove them and try again."),
    )
    return page, 400


def trust_proxies(app: Flask) -> None:
    """Take the client's address, scheme and host from KTT_PROXY_HOPS proxies' X-Forwarded-* headers.

    Call it last, so that it wraps every other WSGI layer (the page cache keys pages by scheme and host).
    """
    hops = int(app.config.get("KTT_PROXY_HOPS") or 0)
    if hops:
        # Only as many X-Forwarded-* entries as there are proxies of ours: a client can forge the rest.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_app(app: Flask) -> None:
    csp = content_security_policy(app.config)
    app.before_request(drop_or_refuse_control_characters)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("KTT_HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
