"""The heartbeat task: beat schedules it, some worker runs it, so its rows show the whole chain works.

Each worker also beats on its own (health.worker.HeartbeatStep): with several workers, the task lands on
whichever is free, and a healthy worker must not look silent because others took the task.
"""

from __future__ import annotations

from celery import shared_task

from ..extensions import db
from .services import record_heartbeat


@shared_task(name="health.heartbeat", bind=True)
def heartbeat(self) -> str:
    """Record that this worker ran a task just now (beat, the broker and a worker all work)."""
    hostname = self.request.hostname or "local"
    record_heartbeat(hostname)
    db.session.commit()
    return hostname
