"""Account verbs. Services flush; the request commits."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..core.errors import ServiceError
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from .models import Role, User
from .passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password


def normalize_email(email: str) -> str:
    return (nfc(email) or "").lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def check_password_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ServiceError(_("The password must have at least %(n)d characters.", n=MIN_LENGTH), "password")


def register_user(
    *,
    email: str,
    password: str,
    full_name: str,
    phone: str | None = None,
    role: Role = Role.BUYER,
    province_code: int | None = None,
    locale: str = "vi",
) -> User:
    """Create an account; raise ServiceError when the e-mail is taken or the password too short."""
    email = normalize_email(email)
    if find_by_email(email) is not None:
        raise ServiceError(_("An account with this e-mail already exists."), "email")
    check_password_policy(password)
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=nfc(full_name),
        phone=nfc(phone) or None,
        role=role,
        province_code=province_code if role is Role.OFFICER else None,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    if role in (Role.OFFICER, Role.ADMIN):
        from ..audit import services as audit

        # Only operators make officers and admins (`flask accounts create-user`): the log keeps who exists.
        audit.record(
            "accounts.user.create",
            actor=None,
            obj=user,
            province_code=user.province_code,
            summary=f"Created the {role.value} account {user.email}",
            after=audit.snapshot(user, ("email", "full_name", "role", "province_code")),
        )
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (same cost either way)."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def change_password(user: User, *, current: str, new: str) -> None:
    """Change the password and end every other session of this user."""
    if not verify_password(user.password_hash, current):
        raise ServiceError(_("The current password is not correct."), "current_password")
    check_password_policy(new)
    _set_password(user, new)


def _set_password(user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    user.auth_version += 1


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    # The hash fragment makes a token single-use: it dies with the password it was issued for.
    return _reset_serializer().dumps({"id": user.id, "h": user.password_hash[-16:]})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("id")) if isinstance(data, dict) else None
    if user is None or not user.is_active or user.password_hash[-16:] != data.get("h"):
        return None
    return user


def reset_password(token: str, new: str) -> User:
    user = user_for_reset_token(token)
    if user is None:
        raise ServiceError(_("This reset link is invalid or has expired. Please ask for a new one."))
    check_password_policy(new)
    _set_password(user, new)
    return user


def set_locale(user: User, locale: str) -> None:
    if locale in current_app.config["LANGUAGES"]:
        user.locale = locale
