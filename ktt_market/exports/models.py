"""Export jobs: one spreadsheet a user asked for, built by a worker and kept for a day."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # claimed by a worker at started_at
    DONE = "done"  # the file is ready until expires_at
    FAILED = "failed"  # `error` says why, in words for the user


class ExportJob(db.Model):
    """One export a user asked for: what to export, how far the worker got, and where the file is."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        Index("ix_export_jobs_user_created", "user_id", "created_at"),
        Index("ix_export_jobs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # What to export: unit_id, province_code and the list page's filters, as the exporter cleaned them.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ExportStatus] = mapped_column(
        enum_column(ExportStatus, "export_status"), default=ExportStatus.QUEUED
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # How many times a worker claimed the job: a job that keeps killing its worker is given up.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str | None] = mapped_column(String(200))  # the download name
    storage_key: Mapped[str | None] = mapped_column(String(80))  # the file's name in the exports folder
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
