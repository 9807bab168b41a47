"""Support programs a province runs for its cooperatives, the applications, and what was disbursed."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db


class ProgramKind(enum.StrEnum):
    TRAINING = "training"
    TRADE_PROMOTION = "trade_promotion"
    ECOMMERCE_ONBOARDING = "ecommerce_onboarding"
    DIGITAL_TRANSFORMATION = "digital_transformation"
    TECHNOLOGY_TRANSFER = "technology_transfer"
    CREDIT_ACCESS = "credit_access"
    BRANDING_OCOP = "branding_ocop"
    INFRASTRUCTURE = "infrastructure"


class FundingSource(enum.StrEnum):
    CENTRAL = "central"  # ngân sách trung ương
    LOCAL = "local"  # ngân sách địa phương


class ProgramStatus(enum.StrEnum):
    DRAFT = "draft"  # being prepared: nobody is told yet
    OPEN = "open"  # published: eligible cooperatives were notified and may apply in the window
    CLOSED = "closed"  # finished: outcomes recorded


class SupportProgram(TimestampMixin, db.Model):
    """One support program of a province, with its budget, window and eligibility rules."""

    __tablename__ = "support_programs"
    __table_args__ = (
        CheckConstraint("budget_vnd >= 0", name="budget_not_negative"),
        CheckConstraint("closes_on >= opens_on", name="window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[ProgramKind] = mapped_column(enum_column(ProgramKind, "program_kind"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    budget_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    funding_source: Mapped[FundingSource] = mapped_column(enum_column(FundingSource, "funding_source"))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    # Rules on registry data, all optional, all must hold: {"kinds": ["HTX"], "sectors": [...],
    # "ward_codes": [...], "grades": ["good", "fair"], "min_members": 7, "on_platform": true}.
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ProgramStatus] = mapped_column(
        enum_column(ProgramStatus, "program_status"), default=ProgramStatus.DRAFT, index=True
    )
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    applications: Mapped[list[ProgramApplication]] = relationship(
        back_populates="program", order_by="ProgramApplication.id"
    )


class ApplicationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ProgramApplication(TimestampMixin, db.Model):
    """A cooperative's application to a program, the officer's decision and the outcome."""

    __tablename__ = "program_applications"
    __table_args__ = (UniqueConstraint("program_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("support_programs.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "program_application_status"), default=ApplicationStatus.SUBMITTED, index=True
    )
    message: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)

    program: Mapped[SupportProgram] = relationship(back_populates="applications")
    unit = relationship("Unit")
    documents: Mapped[list[ApplicationDocument]] = relationship(
        back_populates="application", order_by="ApplicationDocument.id", cascade="all, delete-orphan"
    )
    disbursements: Mapped[list[Disbursement]] = relationship(back_populates="application", order_by="Disbursement.id")


class ApplicationDocument(db.Model):
    """A file attached to an application (checked by content; kept outside the static folder)."""

    __tablename__ = "program_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_applications.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[ProgramApplication] = relationship(back_populates="documents")


class Disbursement(db.Model):
    """Money paid to an approved applicant, recorded by an officer (added, never edited)."""

    __tablename__ = "program_disbursements"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("program_applications.id", ondelete="CASCADE"), index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[ProgramApplication] = relationship(back_populates="disbursements")
