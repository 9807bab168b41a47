"""A cooperative's member register and the capital its members contribute."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db


class MemberCategory(enum.StrEnum):
    """Law on Cooperatives 2023: official (chính thức) or associate (liên kết góp vốn / không góp vốn)."""

    OFFICIAL = "official"
    ASSOCIATE = "associate"


class MemberRole(enum.StrEnum):
    CHAIR = "chair"  # chủ tịch hội đồng quản trị
    DIRECTOR = "director"  # giám đốc
    BOARD = "board"  # thành viên hội đồng quản trị
    SUPERVISORY = "supervisory"  # ban kiểm soát / kiểm soát viên
    MEMBER = "member"


class Member(TimestampMixin, db.Model):
    """One member of a unit's register (thành viên)."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # the member number the unit uses
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[MemberCategory] = mapped_column(
        enum_column(MemberCategory, "member_category"), default=MemberCategory.OFFICIAL
    )
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole, "member_role"), default=MemberRole.MEMBER)
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    left_reason: Mapped[str | None] = mapped_column(String(255))

    entries: Mapped[list[CapitalEntry]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="CapitalEntry.entry_date"
    )

    def is_active_on(self, day: dt.date) -> bool:
        return self.joined_on <= day and (self.left_on is None or self.left_on > day)


class CapitalEntryKind(enum.StrEnum):
    CONTRIBUTED = "contributed"  # góp vốn
    RETURNED = "returned"  # trả lại vốn góp


class CapitalEntry(db.Model):
    """A dated capital movement of one member; the ledger is append-only."""

    __tablename__ = "capital_entries"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CapitalEntryKind] = mapped_column(enum_column(CapitalEntryKind, "capital_entry_kind"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member: Mapped[Member] = relationship(back_populates="entries")

    @property
    def signed_amount(self) -> int:
        return self.amount_vnd if self.kind is CapitalEntryKind.CONTRIBUTED else -self.amount_vnd
