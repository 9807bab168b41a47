"""Each Celery worker's own heartbeat, from a thread the worker starts and stops with itself."""

from __future__ import annotations

import logging
import threading

from celery import bootsteps
from flask import Flask

from ..extensions import db
from .services import record_heartbeat

log = logging.getLogger(__name__)


def heartbeat_step(app: Flask) -> type[bootsteps.StartStopStep]:
    """Return the worker bootstep that records `app`'s worker heartbeat every HEARTBEAT_SECONDS."""

    class HeartbeatStep(bootsteps.StartStopStep):
        """A thread beside the worker's own loop: a slow database never holds up task consumption."""

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
            while not self.stopping.is_set():
                with app.app_context():
                    try:
                        record_heartbeat(hostname)
                        db.session.commit()
                    except Exception as exc:  # the database may be away for a while: try again next time
                        db.session.rollback()
                        log.warning("heartbeat of %s not recorded: %s", hostname, type(exc).__name__)
                    finally:
                        db.session.remove()
                self.stopping.wait(every)

    return HeartbeatStep
