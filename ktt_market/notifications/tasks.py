"""Delivering the outbox: a periodic dispatcher, one task per message, retries with backoff.

Every task may run twice (late acknowledgement, requeue on worker loss): `deliver` first claims its
row with one conditional UPDATE and commits, so of two copies only one sends. A worker that dies
holding a claim leaves a lease that lapses; the dispatcher then hands the row out again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from celery import shared_task
from flask import current_app, has_app_context
from sqlalchemy import and_, or_, select, update

from ..core.models import utcnow
from ..extensions import db
from .channels import PermanentError, channel_for
from .models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

S = OutboxStatus


def _cfg(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def max_attempts() -> int:
    return int(_cfg("NOTIFY_MAX_ATTEMPTS", 8))


def backoff_seconds(attempts: int) -> float:
    """Return the wait before the next try after `attempts` failures: capped doubling, with jitter."""
    base = _cfg("NOTIFY_RETRY_BASE_SECONDS", 30)
    cap = _cfg("NOTIFY_RETRY_CAP_SECONDS", 3600)
    # Jitter spreads the retries of many messages that failed together (the mail server was down).
    return min(cap, base * 2**attempts) * random.uniform(0.5, 1.5)


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=_cfg("NOTIFY_LEASE_SECONDS", 300))


def _due(now: dt.datetime):
    """Rows a delivery may claim: pending and due, or held by a worker whose lease lapsed."""
    return or_(
        and_(OutboxMessage.status == S.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == S.SENDING, OutboxMessage.claimed_until < now),
    )


def _undispatched(now: dt.datetime):
    """Rows due that no queued task is known to carry (a pending row's claimed_until marks one)."""
    return or_(
        and_(
            OutboxMessage.status == S.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        ),
        and_(OutboxMessage.status == S.SENDING, OutboxMessage.claimed_until < now),
    )


@shared_task(name="notifications.dispatch_pending")
def dispatch_pending(limit: int = 500) -> int:
    """Queue one delivery for each message due (new, due for a retry, or with a lapsed claim).

    Each row handed out is marked for a lease, so a queue slower than the dispatcher's period does
    not fill up with copies of the same message; a copy is queued again only if the lease lapses.
    Batches of `limit` follow each other until nothing is left or NOTIFY_DISPATCH_MAX (default
    20,000) went out in this run: a backlog after an outage drains at the workers' pace, not 500
    per period.
    """
    cap = int(_cfg("NOTIFY_DISPATCH_MAX", 20_000))
    total = 0
    while total < cap:
        sent, handed = _dispatch_batch(min(limit, cap - total))
        total += sent
        if sent < handed or handed < limit:
            break  # the broker refused some, or nothing more is due
    return total


def _dispatch_batch(limit: int) -> tuple[int, int]:
    """Hand out one batch; return (published, selected)."""
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxMessage.id).where(_undispatched(now)).order_by(OutboxMessage.next_attempt_at).limit(limit)
    ).all()
    if not ids:
        db.session.rollback()
        return 0, 0
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _undispatched(now))
        .values(status=S.PENDING, claimed_until=now + _lease())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # before talking to the broker
    for n, message_id in enumerate(ids):
        try:
            deliver.apply_async((message_id,), retry=False)
        except Exception as exc:  # broker gone mid-way: the rest are handed out again on the next round
            _release(ids[n:])
            log.warning("broker unavailable, %d message(s) left for later: %s", len(ids) - n, type(exc).__name__)
            return n, len(ids)
    return len(ids), len(ids)


def _release(ids: list[int]) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == S.PENDING)
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def claim(message_id: int, now: dt.datetime | None = None) -> bool:
    """Take the message for this worker for a lease, atomically; False when someone else has it."""
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due(now))
        .values(status=S.SENDING, claimed_until=now + _lease())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _safe_error(exc: BaseException) -> str:
    # The exception's class and its own short text, never the message or the server's credentials.
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


@shared_task(name="notifications.deliver")
def deliver(message_id: int) -> str:
    """Send one outbox message once: claim it, send it, mark it sent (or schedule a retry)."""
    if not claim(message_id):
        return "skipped"
    message = db.session.get(OutboxMessage, message_id)
    try:
        channel_for(message.channel).send(message)
    except Exception as exc:  # every failure is recorded on the row: none is lost, none loops forever
        db.session.rollback()
        message = db.session.get(OutboxMessage, message_id)
        message.attempts += 1
        message.last_error = _safe_error(exc)
        message.claimed_until = None
        if isinstance(exc, PermanentError) or message.attempts >= max_attempts():
            message.status = S.FAILED
            log.warning("outbox %s (%s) failed for good: %s", message.id, message.kind, message.last_error)
        else:
            message.status = S.PENDING
            message.next_attempt_at = utcnow() + dt.timedelta(seconds=backoff_seconds(message.attempts))
            log.info("outbox %s (%s) will retry: %s", message.id, message.kind, message.last_error)
        db.session.commit()
        return str(message.status)
    message.status = S.SENT
    message.sent_at = utcnow()
    message.claimed_until = None
    db.session.commit()
    return "sent"


@shared_task(name="notifications.warn_expiring")
def warn_expiring() -> int:
    """Remind buyers of unpaid orders that lapse within NOTIFY_PAYMENT_WARNING_MINUTES (default 15)."""
    from ..orders.models import Order, OrderStatus
    from . import events

    now = utcnow()
    soon = now + dt.timedelta(minutes=_cfg("NOTIFY_PAYMENT_WARNING_MINUTES", 15))
    orders = db.session.scalars(
        select(Order)
        .where(
            Order.status == OrderStatus.PENDING_PAYMENT,
            Order.expires_at.is_not(None),
            Order.expires_at > now,
            Order.expires_at <= soon,
        )
        .order_by(Order.id)
    ).all()
    for order in orders:
        events.payment_expiring(order)  # keyed per order: a later run adds nothing
    db.session.commit()
    return len(orders)


# ---------------------------------------------------------------- kick after commit


def _collect(session, flush_context) -> None:
    """Remember the outbox rows this flush wrote, to kick their delivery after the commit."""
    new = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if new:
        session.info.setdefault("outbox_new", []).extend(new)


def _forget(session, *args) -> None:
    session.info.pop("outbox_new", None)


def _kick(session) -> None:
    kick(session.info.pop("outbox_new", None) or [])


def kick(ids: list[int]) -> None:
    """Queue delivery of committed rows now; with the broker down, the dispatcher catches up later.

    Off under tests unless NOTIFY_KICK_AFTER_COMMIT says so: unit tests call the tasks directly.
    """
    if not ids or not has_app_context():
        return
    if not current_app.config.get("NOTIFY_KICK_AFTER_COMMIT", not current_app.testing):
        return
    for message_id in ids:
        try:
            # No publish retries: a page must not wait for a broker that is away.
            deliver.apply_async((message_id,), retry=False)
        except Exception as exc:  # the row is safe in the outbox whatever the broker did
            log.warning("broker unavailable, %d message(s) left to the dispatcher: %s", len(ids), type(exc).__name__)
            return


def enqueue_after_commit() -> None:
    """Listen on every session: new outbox rows get a delivery task as soon as they commit."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    for name, fn in (("after_flush", _collect), ("after_commit", _kick), ("after_rollback", _forget)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
