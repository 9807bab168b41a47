"""The yearly classification: rubric versions, self-assessment, the officer's review, year-on-year movement.

Services flush and never commit; the actor is explicit. Every officer or admin action is written to
the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from ..accounts.models import Role, User
from ..audit import services as audit
from ..core.errors import PermissionDenied, ServiceError
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from ..registry.models import Unit
from .eligibility import EVALUATED_KINDS, Eligibility, eligibility
from .models import Assessment, AssessmentStatus, CriterionScore, Grade, Rubric, RubricCriterion

# The statuses whose grade counts: the officer's final word, or a past result brought in.
COUNTED = (AssessmentStatus.FINAL, AssessmentStatus.IMPORTED)
MAX_COMMENT = 2000
FIRST_YEAR = 2000  # no classification predates this; keeps typos such as 202 out

GRADE_LABELS = {
    Grade.GOOD: _l("Good"),
    Grade.FAIR: _l("Fair"),
    Grade.AVERAGE: _l("Average"),
    Grade.WEAK: _l("Weak"),
}
STATUS_LABELS = {
    AssessmentStatus.DRAFT: _l("Draft"),
    AssessmentStatus.SUBMITTED: _l("Submitted"),
    AssessmentStatus.FINAL: _l("Final"),
    AssessmentStatus.IMPORTED: _l("Imported"),
}


# ---------------------------------------------------------------- rubrics and grades


def rubric_for(year: int) -> Rubric | None:
    """Return the rubric version whose years contain `year` (the newest if several do), or None."""
    return db.session.scalar(
        select(Rubric)
        .where(Rubric.first_year <= year, or_(Rubric.last_year.is_(None), Rubric.last_year >= year))
        .order_by(Rubric.first_year.desc(), Rubric.id.desc())
        .limit(1)
    )


def rubric_total(rubric: Rubric) -> int:
    """Return the most points a unit can score under `rubric`."""
    return sum(c.max_points for c in rubric.criteria)


def grade_for(score: int, rubric: Rubric) -> Grade:
    """Return the grade that `score` earns under `rubric`'s thresholds."""
    if score >= rubric.good_min:
        return Grade.GOOD
    if score >= rubric.fair_min:
        return Grade.FAIR
    if score >= rubric.average_min:
        return Grade.AVERAGE
    return Grade.WEAK


def list_rubrics() -> list[Rubric]:
    """Return every rubric version, newest first."""
    return list(db.session.scalars(select(Rubric).order_by(Rubric.first_year.desc(), Rubric.id.desc())))


@dataclass(frozen=True)
class CriterionData:
    group: str
    code: str
    label: str
    max_points: int


@dataclass(frozen=True)
class RubricData:
    code: str
    name: str
    first_year: int
    good_min: int
    fair_min: int
    average_min: int
    criteria: Sequence[CriterionData] = field(default_factory=tuple)


def add_rubric(data: RubricData, *, actor: User) -> Rubric:
    """Add a rubric version for `first_year` onwards; the open version before it then ends the year before.

    Refused with a message naming the field: a code already used, thresholds out of order or above the
    total, criteria with the same code, a first year not after every existing version's, or a first
    year that assessments under the previous version already cover.
    """
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_("Only platform administrators can add rubric versions."))
    code, name = nfc(data.code) or "", nfc(data.name) or ""
    if not code:
        raise ServiceError(_("Enter a code for this version."), "code")
    if db.session.scalar(select(Rubric.id).where(Rubric.code == code)) is not None:
        raise ServiceError(_("The code %(code)s is already used by another version.", code=code), "code")
    if not name:
        raise ServiceError(_("Enter a name for this version."), "name")
    criteria = [c for c in data.criteria if c.code or c.label or c.group]
    if not criteria:
        raise ServiceError(_("Add at least one criterion."), "criteria")
    seen: set[str] = set()
    for position, c in enumerate(criteria, start=1):
        if not (c.code and c.label and c.group):
            raise ServiceError(_("Criterion %(n)d: enter its group, code and label.", n=position), "criteria")
        if c.max_points is None or c.max_points <= 0:
            raise ServiceError(_("Criterion %(n)d: maximum points must be above zero.", n=position), "criteria")
        if c.code in seen:
            raise ServiceError(_("Criterion code %(code)s appears twice.", code=c.code), "criteria")
        seen.add(c.code)
    total = sum(c.max_points for c in criteria)
    if not 0 < data.average_min < data.fair_min < data.good_min:
        raise ServiceError(
            _("Thresholds must rise: weak below average, average below fair, fair below good, all above zero."),
            "good_min",
        )
    if data.good_min > total:
        raise ServiceError(
            _(
                "The good threshold (%(min)d) is above the total of the criteria (%(total)d).",
                min=data.good_min,
                total=total,
            ),
            "good_min",
        )

    latest = db.session.scalar(select(Rubric).order_by(Rubric.first_year.desc(), Rubric.id.desc()).limit(1))
    if latest is not None and data.first_year <= latest.first_year:
        raise ServiceError(
            _(
                "A new version must start after %(year)d, the first year of %(code)s.",
                year=latest.first_year,
                code=latest.code,
            ),
            "first_year",
        )
    covering = db.session.scalars(
        select(Rubric).where(Rubric.last_year.is_not(None), Rubric.last_year >= data.first_year)
    ).first()
    if covering is not None:
        raise ServiceError(
            _("Years from %(year)d are already covered by %(code)s.", year=data.first_year, code=covering.code),
            "first_year",
        )
    open_version = db.session.scalars(select(Rubric).where(Rubric.last_year.is_(None))).first()
    if open_version is not None:
        used = db.session.scalar(
            select(func.max(Assessment.year)).where(
                Assessment.rubric_id == open_version.id, Assessment.year >= data.first_year
            )
        )
        if used is not None:
            raise ServiceError(
                _(
                    "Assessments for %(year)d already use %(code)s: start the new version after that year.",
                    year=used,
                    code=open_version.code,
                ),
                "first_year",
            )
        open_version.last_year = data.first_year - 1

    rubric = Rubric(
        code=code,
        name=name,
        first_year=data.first_year,
        last_year=None,
        good_min=data.good_min,
        fair_min=data.fair_min,
        average_min=data.average_min,
    )
    rubric.criteria = [
        RubricCriterion(group=nfc(c.group), code=nfc(c.code), label=nfc(c.label), max_points=c.max_points, position=i)
        for i, c in enumerate(criteria, start=1)
    ]
    db.session.add(rubric)
    db.session.flush()
    audit.record(
        "classification.rubric_added",
        actor=actor,
        obj=rubric,
        summary=_("Rubric %(code)s added for %(year)d onwards", code=code, year=data.first_year),
        after={
            "code": code,
            "first_year": data.first_year,
            "thresholds": [data.good_min, data.fair_min, data.average_min],
            "total": total,
            "closed": open_version.code if open_version is not None else None,
        },
    )
    return rubric


# ---------------------------------------------------------------- self-assessment


def assessment_for(unit: Unit, year: int) -> Assessment | None:
    """Return the unit's assessment of `year`, or None."""
    return db.session.scalar(select(Assessment).where(Assessment.unit_id == unit.id, Assessment.year == year))


def open_assessment(unit: Unit, year: int, *, actor: User) -> Assessment:
    """Return the unit's assessment of `year`, starting a draft when there is none (eligible units only)."""
    existing = assessment_for(unit, year)
    if existing is not None:
        return existing
    reason = eligibility(unit, year)
    if reason is not Eligibility.ELIGIBLE:
        raise ServiceError(_("This unit is not classified for %(year)d: %(reason)s.", year=year, reason=reason.label))
    rubric = rubric_for(year)
    if rubric is None:
        raise ServiceError(_("No rubric covers %(year)d yet.", year=year))
    assessment = Assessment(unit_id=unit.id, year=year, rubric_id=rubric.id, status=AssessmentStatus.DRAFT)
    assessment.scores = [CriterionScore(criterion_id=c.id) for c in rubric.criteria]
    db.session.add(assessment)
    db.session.flush()
    if audit.is_official(actor):
        audit.record(
            "classification.opened",
            actor=actor,
            obj=assessment,
            province_code=unit.province_code,
            summary=f"Classification {year} of {unit.registration_code} started",
            after={"status": assessment.status, "rubric_id": rubric.id},
        )
    return assessment


def _check_points(assessment: Assessment, points: Mapping[int, int | None]) -> None:
    for score in assessment.scores:
        value = points.get(score.criterion_id)
        if value is not None and not 0 <= value <= score.criterion.max_points:
            raise ServiceError(
                _(
                    "Criterion %(code)s: enter whole points from 0 to %(max)d.",
                    code=score.criterion.code,
                    max=score.criterion.max_points,
                ),
                f"c{score.criterion_id}",
            )


def save_self_assessment(
    assessment: Assessment, points: Mapping[int, int | None], *, actor: User, submit: bool = False
) -> Assessment:
    """Store the cooperative's own points per criterion (by criterion id); with `submit`, send it for review."""
    if assessment.status is not AssessmentStatus.DRAFT:
        raise ServiceError(_("This assessment was already submitted: it can no longer be changed."))
    _check_points(assessment, points)
    for score in assessment.scores:
        score.self_points = points.get(score.criterion_id)
    missing = [s for s in assessment.scores if s.self_points is None]
    assessment.self_score = None if missing else sum(s.self_points for s in assessment.scores)
    if submit:
        if missing:
            raise ServiceError(
                _(
                    "Enter points for every criterion before submitting (criterion %(code)s is empty).",
                    code=missing[0].criterion.code,
                ),
                f"c{missing[0].criterion_id}",
            )
        assessment.status = AssessmentStatus.SUBMITTED
        assessment.submitted_at = utcnow()
        assessment.submitted_by_id = actor.id
    db.session.flush()
    return assessment


# ---------------------------------------------------------------- the officer's review


@dataclass(frozen=True)
class ReviewEntry:
    points: int | None
    comment: str | None = None


def _check_officer(assessment: Assessment, actor: User) -> None:
    unit = assessment.unit
    if not (actor.role is Role.ADMIN or (actor.role is Role.OFFICER and actor.province_code == unit.province_code)):
        raise PermissionDenied(_("Only officers of the unit's province can review its assessment."))


def review_assessment(
    assessment: Assessment,
    entries: Mapping[int, ReviewEntry],
    *,
    actor: User,
    comment: str | None = None,
    finalise: bool = False,
) -> Assessment:
    """Store the officer's points (by criterion id), with a comment wherever they differ from the unit's own.

    With `finalise`, every criterion needs points; the score is their sum and the grade follows from the
    rubric; a final assessment no longer changes.
    """
    _check_officer(assessment, actor)
    if assessment.status is not AssessmentStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted assessment can be reviewed."))
    _check_points(assessment, {cid: e.points for cid, e in entries.items()})
    for score in assessment.scores:
        entry = entries.get(score.criterion_id, ReviewEntry(None))
        note = nfc(entry.comment) or None
        if note is not None and len(note) > MAX_COMMENT:
            raise ServiceError(_("Comments are limited to %(n)d characters.", n=MAX_COMMENT), f"m{score.criterion_id}")
        if entry.points is not None and entry.points != score.self_points and not note:
            raise ServiceError(
                _(
                    "Criterion %(code)s: explain why your points differ from the cooperative's.",
                    code=score.criterion.code,
                ),
                f"m{score.criterion_id}",
            )
        score.points, score.comment = entry.points, note
    overall = nfc(comment) or None
    if overall is not None and len(overall) > MAX_COMMENT:
        raise ServiceError(_("Comments are limited to %(n)d characters.", n=MAX_COMMENT), "comment")
    assessment.comment = overall
    if finalise:
        missing = [s for s in assessment.scores if s.points is None]
        if missing:
            raise ServiceError(
                _(
                    "Enter points for every criterion before finalising (criterion %(code)s is empty).",
                    code=missing[0].criterion.code,
                ),
                f"p{missing[0].criterion_id}",
            )
        assessment.score = sum(s.points for s in assessment.scores)
        assessment.grade = grade_for(assessment.score, assessment.rubric)
        assessment.status = AssessmentStatus.FINAL
        assessment.finalised_at = utcnow()
        assessment.finalised_by_id = actor.id
        audit.record(
            "classification.finalised",
            actor=actor,
            obj=assessment,
            summary=_(
                "Classification %(year)d of %(unit)s finalised: %(score)d points, %(grade)s",
                year=assessment.year,
                unit=assessment.unit.registration_code,
                score=assessment.score,
                grade=str(GRADE_LABELS[assessment.grade]),
            ),
            before={"status": AssessmentStatus.SUBMITTED, "self_score": assessment.self_score},
            after={"status": AssessmentStatus.FINAL, "score": assessment.score, "grade": assessment.grade},
        )
    else:
        # Points adjusted but not final yet: still an officer's act on the cooperative's record.
        audit.record(
            "classification.reviewed",
            actor=actor,
            obj=assessment,
            province_code=assessment.unit.province_code,
            summary=f"Classification {assessment.year} of {assessment.unit.registration_code} reviewed (not final)",
            after={
                "points": {s.criterion.code: s.points for s in assessment.scores if s.points is not None},
                "comment": overall,
            },
        )
    db.session.flush()
    return assessment


def return_assessment(assessment: Assessment, *, actor: User, reason: str) -> Assessment:
    """Send a submitted assessment back to the cooperative as a draft, saying why."""
    _check_officer(assessment, actor)
    if assessment.status is not AssessmentStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted assessment can be sent back."))
    reason = nfc(reason) or ""
    if not reason:
        raise ServiceError(_("Say what the cooperative should correct."), "reason")
    if len(reason) > MAX_COMMENT:
        raise ServiceError(_("Comments are limited to %(n)d characters.", n=MAX_COMMENT), "reason")
    assessment.status = AssessmentStatus.DRAFT
    assessment.comment = reason
    assessment.submitted_at = None
    audit.record(
        "classification.returned",
        actor=actor,
        obj=assessment,
        summary=_(
            "Classification %(year)d of %(unit)s sent back",
            year=assessment.year,
            unit=assessment.unit.registration_code,
        ),
        before={"status": AssessmentStatus.SUBMITTED},
        after={"status": AssessmentStatus.DRAFT, "comment": reason},
    )
    db.session.flush()
    return assessment


def reopen_assessment(assessment: Assessment, *, actor: User) -> Assessment:
    """Reopen a final assessment for review again (platform administrators only)."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_("Only platform administrators can reopen a final assessment."))
    if assessment.status is not AssessmentStatus.FINAL:
        raise ServiceError(_("Only a final assessment can be reopened."))
    before = {"status": assessment.status, "score": assessment.score, "grade": assessment.grade}
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.score = assessment.grade = None
    assessment.finalised_at = assessment.finalised_by_id = None
    audit.record(
        "classification.reopened",
        actor=actor,
        obj=assessment,
        summary=_(
            "Classification %(year)d of %(unit)s reopened", year=assessment.year, unit=assessment.unit.registration_code
        ),
        before=before,
        after={"status": AssessmentStatus.SUBMITTED},
    )
    db.session.flush()
    return assessment


# ---------------------------------------------------------------- lists for officers


def assessments_query(
    province_code: int | None,
    year: int,
    *,
    status: AssessmentStatus | None = None,
    grade: Grade | None = None,
    ward_code: int | None = None,
) -> Select:
    """Return a query of (Assessment, Unit) for a province (None: all) and year, by unit name."""
    query = select(Assessment, Unit).join(Unit, Unit.id == Assessment.unit_id).where(Assessment.year == year)
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    if status is not None:
        query = query.where(Assessment.status == status)
    if grade is not None:
        query = query.where(Assessment.grade == grade)
    if ward_code is not None:
        query = query.where(Unit.ward_code == ward_code)
    return query.order_by(Unit.name, Unit.id)


def status_counts(province_code: int | None, year: int) -> dict[AssessmentStatus, int]:
    """Return how many assessments of `year` are in each status."""
    query = (
        select(Assessment.status, func.count())
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(Assessment.year == year)
        .group_by(Assessment.status)
    )
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    counts = {s: 0 for s in AssessmentStatus}
    counts.update({AssessmentStatus(s): n for s, n in db.session.execute(query)})
    return counts


# ---------------------------------------------------------------- year-on-year movement

UNRATED = None  # the movement matrix's row and column for units with no counted grade that year
MOVEMENT_KEYS: tuple[Grade | None, ...] = (Grade.GOOD, Grade.FAIR, Grade.AVERAGE, Grade.WEAK, UNRATED)


@dataclass(frozen=True)
class Movement:
    """Units counted by grade in year-1 (rows) and grade in year (columns); None is "unrated".

    Only units with a counted grade (final or imported) in at least one of the two years appear.
    """

    province_code: int | None
    year: int
    cells: dict[tuple[Grade | None, Grade | None], int]

    def count(self, before: Grade | None, after: Grade | None) -> int:
        return self.cells.get((before, after), 0)

    def row_total(self, before: Grade | None) -> int:
        return sum(self.count(before, a) for a in MOVEMENT_KEYS)

    def column_total(self, after: Grade | None) -> int:
        return sum(self.count(b, after) for b in MOVEMENT_KEYS)

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    @property
    def improved(self) -> int:
        """Units rated both years whose grade rose."""
        order = {g: i for i, g in enumerate((Grade.WEAK, Grade.AVERAGE, Grade.FAIR, Grade.GOOD))}
        return sum(n for (b, a), n in self.cells.items() if b and a and order[a] > order[b])

    @property
    def declined(self) -> int:
        """Units rated both years whose grade fell."""
        order = {g: i for i, g in enumerate((Grade.WEAK, Grade.AVERAGE, Grade.FAIR, Grade.GOOD))}
        return sum(n for (b, a), n in self.cells.items() if b and a and order[a] < order[b])


def counted_grades(province_code: int | None, year: int) -> dict[int, Grade]:
    """Return unit id -> counted grade (final or imported) of `year` for a province (None: all)."""
    query = (
        select(Assessment.unit_id, Assessment.grade)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(
            Assessment.year == year,
            Assessment.status.in_(COUNTED),
            Assessment.grade.is_not(None),
            Unit.kind.in_(EVALUATED_KINDS),
        )
    )
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    return {unit_id: Grade(grade) for unit_id, grade in db.session.execute(query)}


def movement(province_code: int | None, year: int) -> Movement:
    """Return the matrix grade(year-1) x grade(year) for a province's units (None: every province)."""
    before = counted_grades(province_code, year - 1)
    after = counted_grades(province_code, year)
    cells: dict[tuple[Grade | None, Grade | None], int] = {}
    for unit_id in before.keys() | after.keys():
        key = (before.get(unit_id), after.get(unit_id))
        cells[key] = cells.get(key, 0) + 1
    return Movement(province_code=province_code, year=year, cells=cells)


def grade_counts(province_code: int | None, year: int) -> dict[Grade, int]:
    """Return how many units have each counted grade in `year`."""
    counts = {g: 0 for g in Grade}
    for grade in counted_grades(province_code, year).values():
        counts[grade] += 1
    return counts


def years_with_assessments(default: int) -> list[int]:
    """Return the years that have assessments, newest first, always including `default`."""
    years = set(db.session.scalars(select(Assessment.year).distinct()))
    years.add(default)
    return sorted(years, reverse=True)


def unit_assessments(unit: Unit) -> list[Assessment]:
    """Return the unit's assessments, newest year first."""
    return list(
        db.session.scalars(select(Assessment).where(Assessment.unit_id == unit.id).order_by(Assessment.year.desc()))
    )


def assessable_years(today: dt.date) -> tuple[int, int]:
    """Return the years a cooperative may assess itself for: last year (late filers) and this year."""
    return today.year - 1, today.year
