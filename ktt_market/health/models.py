"""The last sign of life of each worker."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class WorkerHeartbeat(db.Model):
    """One row per worker host: when it last ran the heartbeat task, and how often it has."""

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    beats: Mapped[int] = mapped_column(Integer, default=0)
