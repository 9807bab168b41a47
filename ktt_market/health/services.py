"""What the health page shows: the broker's queue, the workers' heartbeats, the outbox's state."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from ..core.models import utcnow
from ..extensions import db
from ..notifications.models import OutboxMessage, OutboxStatus
from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

QUEUE = "celery"  # Celery's default queue: every task of ours goes there


@dataclass(frozen=True)
class Worker:
    hostname: str
    seen_at: dt.datetime
    started_at: dt.datetime
    beats: int
    alive: bool


@dataclass(frozen=True)
class Health:
    broker: str  # "redis" or "sqlite"
    queue_length: int | None  # None: the broker did not answer
    workers: list[Worker]
    pending: int
    sending: int
    failed: int
    oldest_pending_at: dt.datetime | None

    @property
    def worker_alive(self) -> bool:
        return any(w.alive for w in self.workers)

    @property
    def ok(self) -> bool:
        return self.queue_length is not None and self.worker_alive


def record_heartbeat(hostname: str) -> None:
    """Record a sign of life of worker `hostname` now; the caller commits."""
    now = utcnow()
    updated = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.hostname == hostname)
        .values(seen_at=now, beats=WorkerHeartbeat.beats + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(hostname=hostname, seen_at=now, started_at=now, beats=1))


def heartbeat_window() -> dt.timedelta:
    """Return how old a heartbeat may be before its worker counts as gone (three missed beats)."""
    return dt.timedelta(seconds=3 * float(current_app.config.get("HEARTBEAT_SECONDS", 30)))


def queue_length() -> int | None:
    """Return the number of tasks waiting in the broker, or None when the broker is away."""
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_read() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            return int(conn.default_channel.queue_declare(queue=QUEUE, passive=True).message_count)
    except Exception as exc:  # a missing queue or a broker that is down: the page says so
        if "NOT_FOUND" in str(exc) or "no queue" in str(exc).lower():
            return 0
        log.warning("broker did not answer the health check: %s", type(exc).__name__)
        return None


def health() -> Health:
    """Collect the state of background work for the admin page."""
    now = utcnow()
    window = heartbeat_window()
    workers = [
        Worker(h.hostname, h.seen_at, h.started_at, h.beats, alive=now - h.seen_at <= window)
        for h in db.session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc()))
    ]
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    )
    return Health(
        broker="redis" if current_app.config.get("REDIS_URL") else "sqlite",
        queue_length=queue_length(),
        workers=workers,
        pending=counts.get(OutboxStatus.PENDING, 0),
        sending=counts.get(OutboxStatus.SENDING, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        oldest_pending_at=oldest,
    )
