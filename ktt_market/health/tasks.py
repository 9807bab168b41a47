"""The heartbeat: a periodic task whose row tells admins that beat, broker and a worker all work."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy import update

from ..core.models import utcnow
from ..extensions import db
from .models import WorkerHeartbeat


@shared_task(name="health.heartbeat", bind=True)
def heartbeat(self) -> str:
    """Record that this worker ran a task just now."""
    hostname = self.request.hostname or "local"
    now = utcnow()
    updated = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.hostname == hostname)
        .values(seen_at=now, beats=WorkerHeartbeat.beats + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(hostname=hostname, seen_at=now, started_at=now, beats=1))
    db.session.commit()
    return hostname
