"""The audit log: every officer's and admin's action, who, what, when, before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class AuditEvent(db.Model):
    """One action: written in the transaction of the change, never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_province_created", "province_code", "created_at"),
        Index("ix_audit_events_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    # The province the object belongs to: an officer reads the log of theirs only.
    province_code: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(80), index=True)  # e.g. "registry.application.approve"
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
