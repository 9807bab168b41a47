"""Pages that belong to no area: home, language switch, health, errors."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..extensions import db, login_manager
from .pagecache import anonymous_page_cache

bp = Blueprint("core", __name__)


@bp.get("/")
@anonymous_page_cache
def home():
    # The catalogue is the home page; the catalogue area renders it.
    from ..catalog.views import home_page

    return home_page()


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    target = request.form.get("next") or ""
    # Only a path on this site; browsers read "/\\host" as "//host" and drop tabs and newlines.
    if not target.startswith("/") or target.startswith("//") or "\\" in target or not target.isprintable():
        target = url_for(".home")
    return redirect(target)


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


def _error_page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _drop_session() -> None:
    """End the request's session; when its connection died with the server, throw it away unrolled."""
    try:
        db.session.remove()
    except DBAPIError:
        # Rolling back over a dead connection fails again: invalidate it, the pool opens a new one.
        db.session.invalidate()
        db.session.remove()


def register_error_handlers(app) -> None:
    @app.teardown_appcontext
    def _end_session(exc):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, run later), whose rollback
        # would raise over a connection the database closed, turning a finished page into a bare 500.
        _drop_session()

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(
            400,
            _("The form has expired"),
            _("For your security the form could not be sent. Go back, reload the page and try again."),
        )

    @app.errorhandler(403)
    def forbidden(exc):
        return _error_page(403, _("Not allowed"), _("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(exc):
        return _error_page(404, _("Page not found"), _("The page you asked for does not exist or has moved."))

    @app.errorhandler(405)
    def method_not_allowed(exc):
        return _error_page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def too_large(exc):
        return _error_page(413, _("File too large"), _("The file is larger than the site accepts."))

    @app.errorhandler(429)
    def too_many(exc):
        return _error_page(
            429, _("Too many attempts"), _("Too many attempts in a short time. Please wait a minute and try again.")
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc):
        # The database is away (restarting, unreachable): the pool reconnects by itself once it is back.
        # The usual page would ask it for the user and the cart again, so this one is drawn without it.
        _drop_session()
        current_app.logger.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
        g._login_user = login_manager.anonymous_user()
        page = render_template(
            "errors/unavailable.html",
            title=_("Temporarily unavailable"),
            message=_("The site cannot reach its data for a moment. Please try again in a few seconds."),
        )
        return page, 503, {"Retry-After": "5"}

    @app.errorhandler(500)
    def server_error(exc):
        original = getattr(exc, "original_exception", None)
        if isinstance(original, DBAPIError) and original.connection_invalidated:
            # Another kind of database error, raised because the connection died: the database is away.
            return database_unavailable(original)
        _drop_session()
        try:
            return _error_page(500, _("Something went wrong"), _("Our mistake, not yours. Please try again shortly."))
        except DBAPIError as again:
            # The page asks the database for its user and cart: if that fails too, the page that asks nothing.
            return database_unavailable(again)
