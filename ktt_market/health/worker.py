"""Each Celery worker's own heartbeat, from a thread the worker starts and stops with itself.

The thread writes through an engine of its own without a pool (one short connection a beat), never through
the app's engine: the worker's parent process forks its pool children at any time, and a child must not
inherit a pool, or a lock, that this thread was using at that moment.
"""

from __future__ import annotations

import logging
import threading

from celery import bootsteps
from flask import Flask
from sqlalchemy import create_engine, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ..core.models import utcnow
from .models import WorkerHeartbeat

log = logging.getLogger(__name__)
beats = WorkerHeartbeat.__table__


def heartbeat_step(app: Flask) -> type[bootsteps.StartStopStep]:
    """Return the worker bootstep that records `app`'s worker heartbeat every HEARTBEAT_SECONDS."""

    class HeartbeatStep(bootsteps.StartStopStep):
        """A thread beside the worker's own loop: a slow database never holds up task consumption.

        It starts once the pool has forked its children: a child forked while the thread is inside the
        database driver could inherit a lock held at that instant (SQLite's are process-wide) and hang.
        """

        requires = ("celery.worker.components:Pool",)

        def __init__(self, worker, **kwargs):
            super().__init__(worker, **kwargs)
            self.stopping = threading.Event()
            self.thread: threading.Thread | None = None

        def start(self, worker) -> None:
            every = float(app.config.get("HEARTBEAT_SECONDS", 30))
            self.thread = threading.Thread(
                target=self._run, args=(worker.hostname, every), name="ktt-heartbeat", daemon=True
            )
            self.thread.start()

        def stop(self, worker) -> None:
            self.stopping.set()
            if self.thread is not None:
                self.thread.join(timeout=5)

        def _run(self, hostname: str, every: float) -> None:
            engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
            try:
                while not self.stopping.is_set():
                    try:
                        record(engine, hostname)
                    except Exception as exc:  # the database may be away for a while: try again next time
                        log.warning("heartbeat of %s not recorded: %s", hostname, type(exc).__name__)
                    self.stopping.wait(every)
            finally:
                engine.dispose()

    return HeartbeatStep


def record(engine, hostname: str) -> None:
    """Record a sign of life of worker `hostname` now, in a transaction of its own."""
    now = utcnow()
    with engine.begin() as conn:
        changed = conn.execute(
            update(beats).where(beats.c.hostname == hostname).values(seen_at=now, beats=beats.c.beats + 1)
        ).rowcount
        if changed:
            return
    try:
        with engine.begin() as conn:
            conn.execute(insert(beats).values(hostname=hostname, seen_at=now, started_at=now, beats=1))
    except IntegrityError:  # the periodic task recorded this node in between: next beat updates it
        pass
