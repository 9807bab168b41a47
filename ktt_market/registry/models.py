"""The registry: every collective-economy unit of a province, and who runs it on the platform."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..core.text import fold
from ..extensions import db


class UnitKind(enum.StrEnum):
    COOPERATIVE_GROUP = "THT"  # tổ hợp tác
    COOPERATIVE = "HTX"  # hợp tác xã
    UNION = "LHHTX"  # liên hiệp hợp tác xã
    CREDIT_FUND = "QTDND"  # quỹ tín dụng nhân dân


class Sector(enum.StrEnum):
    AGRICULTURE = "agriculture"
    NON_AGRICULTURE = "non_agriculture"


class PlatformStatus(enum.StrEnum):
    """Where a unit stands on the platform (not its legal state, which follows from its dates)."""

    NOT_JOINED = "not_joined"  # a registry record only
    PENDING = "pending"  # registered or claimed, awaiting the province
    APPROVED = "approved"  # may sell
    REJECTED = "rejected"  # a new registration the province turned down


class OperatingState(enum.StrEnum):
    NOT_FOUNDED = "not_founded"
    ACTIVE = "active"
    STOPPED = "stopped"
    DISSOLVED = "dissolved"


class Unit(TimestampMixin, db.Model):
    """A collective-economy unit: THT, HTX, LHHTX or QTDND."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("declared_members >= 0", name="declared_members_not_negative"),
        CheckConstraint("charter_capital_vnd >= 0", name="charter_capital_not_negative"),
        CheckConstraint(
            "dissolved_on IS NULL OR founded_on IS NULL OR dissolved_on >= founded_on",
            name="dissolved_after_founded",
        ),
        CheckConstraint(
            "stopped_on IS NULL OR founded_on IS NULL OR stopped_on >= founded_on",
            name="stopped_after_founded",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "unit_kind"), index=True)
    registration_code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # The name lower-cased without diacritics (core.text.fold), so "nuoi tom" finds "Nuôi tôm". Set with the
    # name on ORM objects; bulk statements (registry import) write it themselves.
    name_folded: Mapped[str] = mapped_column(String(255), default="", server_default="")
    sector: Mapped[Sector] = mapped_column(enum_column(Sector, "unit_sector"))
    trade: Mapped[str | None] = mapped_column(String(120))
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)
    dissolved_on: Mapped[dt.date | None] = mapped_column(Date)
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    ward_code: Mapped[int] = mapped_column(Integer, index=True)
    street: Mapped[str | None] = mapped_column(String(255))
    declared_members: Mapped[int] = mapped_column(Integer, default=0)
    charter_capital_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # The cooperative's own bank account: bank transfers go there, payouts too (VietQR BIN, 6 digits).
    bank_bin: Mapped[str | None] = mapped_column(String(6))
    bank_account: Mapped[str | None] = mapped_column(String(19))
    bank_account_name: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    platform_status: Mapped[PlatformStatus] = mapped_column(
        enum_column(PlatformStatus, "unit_platform_status"), default=PlatformStatus.NOT_JOINED, index=True
    )
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[list[UnitStaff]] = relationship(back_populates="unit", cascade="all, delete-orphan")

    @validates("name")
    def _fold_name(self, _key: str, name: str) -> str:
        self.name_folded = fold(name or "")
        return name

    def exists_on(self, day: dt.date) -> bool:
        """Whether the unit exists on `day`: founded by then and not yet dissolved."""
        if self.founded_on is None or self.founded_on > day:
            return False
        return self.dissolved_on is None or self.dissolved_on > day

    def state_on(self, day: dt.date) -> OperatingState:
        if self.founded_on is None or self.founded_on > day:
            return OperatingState.NOT_FOUNDED
        if self.dissolved_on is not None and self.dissolved_on <= day:
            return OperatingState.DISSOLVED
        if self.stopped_on is not None and self.stopped_on <= day:
            return OperatingState.STOPPED
        return OperatingState.ACTIVE

    @property
    def can_sell(self) -> bool:
        return self.platform_status is PlatformStatus.APPROVED and self.dissolved_on is None

    def __repr__(self) -> str:
        return f"<Unit {self.registration_code}>"


class StaffRole(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"


class UnitStaff(db.Model):
    """A user who works for a unit on the platform (cooperative staff)."""

    __tablename__ = "unit_staff"
    __table_args__ = (UniqueConstraint("unit_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"), default=StaffRole.STAFF)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="staff")
    user = relationship("User")


class ApplicationKind(enum.StrEnum):
    REGISTER = "register"  # a new unit, not in the registry yet
    CLAIM = "claim"  # an existing registry record, claimed by its code


class ApplicationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class UnitApplication(TimestampMixin, db.Model):
    """A request to run a unit on the platform, decided by an officer of its province."""

    __tablename__ = "unit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ApplicationKind] = mapped_column(enum_column(ApplicationKind, "application_kind"))
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status"), default=ApplicationStatus.PENDING, index=True
    )
    message: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship()
    applicant = relationship("User", foreign_keys=[applicant_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
