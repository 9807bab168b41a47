"""The yearly classification of cooperatives: versioned rubrics and each unit's assessment for a year.

A rubric is data, not code (Circular 01/2020/TT-BKHĐT was repealed in 2025 with no replacement yet):
its criteria, maxima and grade thresholds, and the years it applies to.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db


class Grade(enum.StrEnum):
    GOOD = "good"  # tốt
    FAIR = "fair"  # khá
    AVERAGE = "average"  # trung bình
    WEAK = "weak"  # yếu


class Rubric(db.Model):
    """One version of the scoring rules, for the years from `first_year` to `last_year` (open: None)."""

    __tablename__ = "rubrics"
    __table_args__ = (
        CheckConstraint("good_min > fair_min AND fair_min > average_min AND average_min > 0", name="thresholds"),
        CheckConstraint("last_year IS NULL OR last_year >= first_year", name="years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # e.g. "TT01-2020"
    name: Mapped[str] = mapped_column(String(200))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int | None] = mapped_column(Integer)
    good_min: Mapped[int] = mapped_column(Integer)  # 80: good from 80 points
    fair_min: Mapped[int] = mapped_column(Integer)  # 65
    average_min: Mapped[int] = mapped_column(Integer)  # 50; below: weak
    # Who added a version is in the audit log: a reference to users here would tie reference data to accounts.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="rubric", order_by="RubricCriterion.position", cascade="all, delete-orphan"
    )


class RubricCriterion(db.Model):
    """One criterion of a rubric, in its group, with its maximum points."""

    __tablename__ = "rubric_criteria"
    __table_args__ = (
        UniqueConstraint("rubric_id", "code"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"), index=True)
    group: Mapped[str] = mapped_column(String(120))  # e.g. "Tài chính"
    code: Mapped[str] = mapped_column(String(20))  # e.g. "1", "10"
    label: Mapped[str] = mapped_column(Text)
    max_points: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"  # the cooperative is filling in its self-assessment
    SUBMITTED = "submitted"  # waiting for the officer's review
    FINAL = "final"  # the officer finalised it: the grade counts
    IMPORTED = "imported"  # a past result brought in by `flask classification import`


class Assessment(TimestampMixin, db.Model):
    """A unit's classification for one year under one rubric."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("unit_id", "year"),
        CheckConstraint("score IS NULL OR score >= 0", name="score_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="RESTRICT"), index=True)
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, "assessment_status"), default=AssessmentStatus.DRAFT, index=True
    )
    self_score: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[int | None] = mapped_column(Integer)  # the officer's final total
    grade: Mapped[Grade | None] = mapped_column(enum_column(Grade, "assessment_grade"), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finalised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    unit = relationship("Unit")
    rubric: Mapped[Rubric] = relationship()
    scores: Mapped[list[CriterionScore]] = relationship(
        back_populates="assessment", order_by="CriterionScore.id", cascade="all, delete-orphan"
    )


class CriterionScore(db.Model):
    """The points of one criterion: the cooperative's own, then the officer's with a comment."""

    __tablename__ = "criterion_scores"
    __table_args__ = (
        UniqueConstraint("assessment_id", "criterion_id"),
        CheckConstraint("self_points IS NULL OR self_points >= 0", name="self_points_not_negative"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("rubric_criteria.id", ondelete="RESTRICT"))
    self_points: Mapped[int | None] = mapped_column(Integer)
    points: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    assessment: Mapped[Assessment] = relationship(back_populates="scores")
    criterion: Mapped[RubricCriterion] = relationship()
