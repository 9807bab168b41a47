"""Accounts: register, log in and out, profile, password change and reset."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..core.errors import ServiceError
from ..core.mail import send_mail
from ..core.text import nfc
from ..core.validators import normalize_vn_phone
from ..extensions import db, limiter
from . import services
from .forms import ChangePasswordForm, LoginForm, ProfileForm, RegisterForm, ResetPasswordForm, ResetRequestForm

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site."""
    if target:
        parts = urlsplit(target)
        # Browsers read "/\\host" as "//host", and drop tabs and newlines: refuse both.
        local = not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")
        if local and "\\" not in target and target.isprintable():
            return target
    return url_for("core.home")


def _login_key() -> str:
    return "login-account:" + services.normalize_email(request.form.get("email", ""))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _start_session(user, remember: bool = False) -> None:
    # A fresh session on every login: nothing from before (a planted id, a stale cart key) survives.
    keep = {k: session[k] for k in ("cart_token",) if k in session}
    session.clear()
    session.update(keep)
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                email=form.email.data,
                password=form.password.data,
                full_name=form.full_name.data,
                phone=normalize_vn_phone(form.phone.data),
                locale=session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"]),
            )
        except ServiceError as exc:
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            db.session.commit()
            _start_session(user)
            flash(_("Welcome to KTT Market, %(name)s!", name=user.full_name), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The e-mail or password is not correct."))
        else:
            db.session.commit()
            _start_session(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if request.method == "GET" else 422
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # Clear first: logout_user() leaves the note that deletes the remember-me cookie in the session.
    session.clear()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("core.home"))


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        current_user.full_name = nfc(form.full_name.data)
        current_user.phone = normalize_vn_phone(form.phone.data)
        services.set_locale(current_user, form.locale.data)
        db.session.commit()
        with force_locale(current_user.locale):
            flash(_("Your profile is saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("accounts/profile.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, current=form.current_password.data, new=form.password.data)
        except ServiceError as exc:
            getattr(form, exc.field or "password").errors.append(exc.message)
        else:
            db.session.commit()
            # Other sessions now hold a stale auth version; this one gets a fresh session.
            _start_session(current_user._get_current_object())
            flash(_("Your password has been changed."), "success")
            return redirect(url_for(".profile"))
    return render_template("accounts/change_password.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data)
        if user is not None and user.is_active:
            token = services.make_reset_token(user)
            link = url_for(".reset_password", token=token, _external=True)
            with force_locale(user.locale):
                send_mail(
                    user.email,
                    _("Reset your KTT Market password"),
                    render_template("email/accounts/reset_password.txt", user=user, link=link),
                    render_template("email/accounts/reset_password.html", user=user, link=link),
                )
        # The same answer whether or not the address has an account.
        flash(_("If an account uses this e-mail, a reset link is on its way."), "info")
        return redirect(url_for(".login"))
    return render_template("accounts/reset_request.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if services.user_for_reset_token(token) is None:
        flash(_("This reset link is invalid or has expired. Please ask for a new one."), "error")
        return redirect(url_for(".reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except ServiceError as exc:
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Your password has been reset. You can log in now."), "success")
            return redirect(url_for(".login"))
    return render_template("accounts/reset_password.html", form=form), 200 if request.method == "GET" else 422
