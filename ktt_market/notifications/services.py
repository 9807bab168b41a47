"""Notifications: who is told what, on which channels, and the inbox verbs.

`notify` runs inside the transaction of the change that causes it and only adds outbox rows: the
message exists if and only if the change committed. Delivery happens later (tasks.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..accounts.models import User
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import date_vn
from ..core.models import utcnow
from ..extensions import db
from .models import Channel, Kind, Notification, NotificationPreference, OutboxMessage, OutboxStatus

KIND_LABELS = {
    Kind.ORDER_PLACED: _l("Order placed (receipt, or a new order for your cooperative)"),
    Kind.ORDER_CONFIRMED: _l("Order confirmed"),
    Kind.ORDER_REJECTED: _l("Order rejected"),
    Kind.ORDER_SHIPPED: _l("Order shipped"),
    Kind.ORDER_DELIVERED: _l("Order delivered"),
    Kind.ORDER_CANCELLED: _l("Order cancelled"),
    Kind.UNIT_APPROVED: _l("Cooperative approved"),
    Kind.UNIT_REJECTED: _l("Cooperative application rejected"),
    Kind.LOW_STOCK: _l("Low stock"),
    Kind.PAYMENT_EXPIRING: _l("Unpaid order about to expire"),
    Kind.DAILY_DIGEST: _l("Daily summary for cooperative managers (orders, stock, reviews)"),
    Kind.PAYMENT_RECEIVED: _l("Payment received"),
    Kind.PAYMENT_FAILED: _l("Payment failed"),
    Kind.REFUNDED: _l("Refund sent"),
    Kind.PROGRAM_OPENED: _l("A support program your cooperative may apply for"),
    Kind.PROGRAM_DEADLINE: _l("A support program closes soon"),
}

CHANNEL_LABELS = {
    Channel.INAPP: _l("On the site"),
    Channel.EMAIL: _l("E-mail"),
    Channel.SMS: _l("SMS"),
    Channel.ZALO: _l("Zalo"),
}

# Without a preference row: the inbox and e-mail on, phone messages off (they cost money).
DEFAULT_CHANNELS = frozenset({Channel.EMAIL, Channel.INAPP})
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.ZALO})


def title(kind: str, payload: Mapping[str, Any]) -> str:
    """Return the one-line title of a message, in the current locale."""
    number = payload.get("number", "")
    if kind == Kind.ORDER_PLACED:
        if payload.get("role") == "staff":
            return _("New order %(number)s", number=number)
        return _("We received your order %(number)s", number=number)
    if kind == Kind.ORDER_CONFIRMED:
        return _("Order %(number)s confirmed", number=number)
    if kind == Kind.ORDER_REJECTED:
        return _("Order %(number)s rejected", number=number)
    if kind == Kind.ORDER_SHIPPED:
        return _("Order %(number)s shipped", number=number)
    if kind == Kind.ORDER_DELIVERED:
        return _("Order %(number)s delivered", number=number)
    if kind == Kind.ORDER_CANCELLED:
        return _("Order %(number)s cancelled", number=number)
    if kind == Kind.UNIT_APPROVED:
        return _("%(unit)s is approved on KTT Market", unit=payload.get("unit_name", ""))
    if kind == Kind.UNIT_REJECTED:
        return _("The application of %(unit)s was rejected", unit=payload.get("unit_name", ""))
    if kind == Kind.LOW_STOCK:
        return _("Low stock: %(product)s", product=payload.get("product_name", ""))
    if kind == Kind.PAYMENT_EXPIRING:
        return _("Pay order %(number)s soon or it will be cancelled", number=number)
    if kind == Kind.PAYMENT_RECEIVED:
        if payload.get("role") == "staff":
            return _("Order %(number)s is paid", number=number)
        return _("Payment received for order %(number)s", number=number)
    if kind == Kind.PAYMENT_FAILED:
        return _("Payment for order %(number)s failed", number=number)
    if kind == Kind.REFUNDED:
        return _("Refund for order %(number)s sent", number=number)
    if kind == Kind.PROGRAM_OPENED:
        return _("Support program open: %(title)s", title=payload.get("title", ""))
    if kind == Kind.PROGRAM_DEADLINE:
        closes = payload.get("closes_on")
        return _(
            "%(title)s closes on %(day)s",
            title=payload.get("title", ""),
            day=date_vn(dt.date.fromisoformat(closes)) if closes else "",
        )
    if kind == Kind.DAILY_DIGEST:
        day = payload.get("day")
        return _(
            "Daily summary of %(unit)s for %(day)s",
            unit=payload.get("unit_name", ""),
            day=date_vn(dt.date.fromisoformat(day)) if day else "",
        )
    return str(kind)


# ---------------------------------------------------------------- preferences


def channels_for(user: User, kind: str) -> list[Channel]:
    """Return the channels `user` wants for `kind`, in a fixed order."""
    rows = db.session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == str(kind)
        )
    ).all()
    return _chosen_channels(user, rows)


def _chosen_channels(user: User, rows: Iterable[tuple[Channel, bool]]) -> list[Channel]:
    """Apply `user`'s preference rows for one kind to the defaults."""
    chosen = {c: c in DEFAULT_CHANNELS for c in Channel}
    chosen.update({channel: enabled for channel, enabled in rows})
    return [c for c in Channel if chosen[c] and (c not in PHONE_CHANNELS or user.phone)]


def preference_matrix(user: User) -> dict[tuple[str, Channel], bool]:
    """Return every (kind, channel) with whether `user` receives it."""
    matrix = {(str(k), c): c in DEFAULT_CHANNELS for k in Kind for c in Channel}
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    for row in rows:
        if (row.kind, row.channel) in matrix:
            matrix[(row.kind, row.channel)] = row.enabled
    return matrix


def set_preferences(user: User, *, actor: User, chosen: Iterable[tuple[str, str]]) -> None:
    """Store `user`'s channels: exactly the (kind, channel) pairs in `chosen` are on."""
    if actor.id != user.id:
        raise PermissionDenied(_("You may only change your own notification settings."))
    wanted = {(str(k), Channel(c)) for k, c in chosen if k in set(Kind) and c in set(Channel)}
    if not user.phone and any(c in PHONE_CHANNELS for _k, c in wanted):
        raise ServiceError(_("Add a phone number to your account to receive SMS or Zalo messages."), field="sms")
    existing = {
        (row.kind, row.channel): row
        for row in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    for kind in Kind:
        for channel in Channel:
            enabled = (str(kind), channel) in wanted
            row = existing.get((str(kind), channel))
            if row is None:
                if enabled == (channel in DEFAULT_CHANNELS):
                    continue  # the default already says so
                db.session.add(
                    NotificationPreference(user_id=user.id, kind=str(kind), channel=channel, enabled=enabled)
                )
            else:
                row.enabled = enabled
    db.session.flush()


# ---------------------------------------------------------------- the outbox


def outbox_key(kind: str, object_key: str, user_id: int, channel: str) -> str:
    """Return the idempotency key of one message: the same event always gives the same key."""
    return f"{kind}:{object_key}:{user_id}:{channel}"


def _recipient(user: User, channel: Channel) -> str:
    if channel is Channel.EMAIL:
        return user.email
    if channel in PHONE_CHANNELS:
        return user.phone or ""
    return str(user.id)


def notify(kind: Kind | str, *, user: User, payload: Mapping[str, Any], object_key: str) -> list[OutboxMessage]:
    """Owe `user` a message about `kind` on each channel they chose; a repeated event adds nothing.

    Call inside the transaction of the change (never commits): the rows commit or roll back with it.
    The check below finds an earlier call; the unique key stops two concurrent ones at commit.
    """
    kind = Kind(kind)
    added = []
    for channel in channels_for(user, kind):
        key = outbox_key(kind, object_key, user.id, channel)
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
            continue
        message = OutboxMessage(
            key=key,
            channel=channel,
            user_id=user.id,
            recipient=_recipient(user, channel),
            kind=str(kind),
            locale=user.locale or current_app.config["BABEL_DEFAULT_LOCALE"],
            payload=dict(payload),
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
        )
        db.session.add(message)
        added.append(message)
    if added:
        db.session.flush()
    return added


# Bound the IN lists of notify_many: SQLite refuses too many bound parameters in one statement.
_CHUNK = 500


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def notify_many(kind: Kind | str, recipients: Iterable[tuple[User, Mapping[str, Any], str]]) -> list[OutboxMessage]:
    """Owe each (user, payload, object_key) a message about `kind`, as `notify` would, in a few queries.

    For periodic tasks that tell many people at once: the preferences and the keys already owed
    are read in one query each (per 500 people), not one per person and channel.
    """
    kind = Kind(kind)
    recipients = list(recipients)
    if not recipients:
        return []
    user_ids = sorted({user.id for user, _payload, _key in recipients})
    rows: dict[int, list[tuple[Channel, bool]]] = {}
    for chunk in _chunks(user_ids):
        for user_id, channel, enabled in db.session.execute(
            select(
                NotificationPreference.user_id, NotificationPreference.channel, NotificationPreference.enabled
            ).where(NotificationPreference.user_id.in_(chunk), NotificationPreference.kind == str(kind))
        ):
            rows.setdefault(user_id, []).append((channel, enabled))
    planned = []
    for user, payload, object_key in recipients:
        for channel in _chosen_channels(user, rows.get(user.id, [])):
            planned.append((outbox_key(kind, object_key, user.id, channel), channel, user, payload))
    keys = [key for key, *_rest in planned]
    owed: set[str] = set()
    for chunk in _chunks(keys):
        owed.update(db.session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    now = utcnow()
    added = []
    for key, channel, user, payload in planned:
        if key in owed:
            continue
        owed.add(key)  # the same user and object twice in `recipients`: one message
        message = OutboxMessage(
            key=key,
            channel=channel,
            user_id=user.id,
            recipient=_recipient(user, channel),
            kind=str(kind),
            locale=user.locale or default_locale,
            payload=dict(payload),
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        db.session.add(message)
        added.append(message)
    if added:
        db.session.flush()
    return added


def retry_failed(message: OutboxMessage, *, actor: User) -> OutboxMessage:
    """Give a failed message a fresh start (an admin decided the cause is fixed)."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators may retry messages."))
    if message.status is not OutboxStatus.FAILED:
        raise ServiceError(_("This message has not failed."))
    from ..audit import services as audit

    before = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    message.last_error = None
    db.session.flush()
    audit.record(
        "notifications.message.retry",
        actor=actor,
        obj=message,
        summary=f"Retried the failed {message.channel} message {message.kind} to user {message.user_id}",
        before=before,
        after={"status": message.status, "attempts": 0},
    )
    return message


# ---------------------------------------------------------------- the inbox


def unread_count(user_id: int) -> int:
    """Return how many of the user's inbox messages are unread (one indexed count)."""
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(notification: Notification, *, actor: User) -> Notification:
    """Mark one of `actor`'s messages read (already read: unchanged)."""
    if notification.user_id != actor.id:
        raise PermissionDenied(_("This is not your message."))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(*, actor: User) -> int:
    """Mark every unread message of `actor` read; return how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
