"""Import past classification results from a spreadsheet: check every row, then write all or nothing.

Columns: registration_code, year, score, rating (good|fair|average|weak; the Vietnamese tốt, khá,
trung bình, yếu are read too). Each row becomes the unit's assessment of that year with status
"imported", created or updated; a FINAL assessment made on the platform is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..audit import services as audit
from ..core import places
from ..core.errors import ServiceError
from ..core.i18n import local_today
from ..core.spreadsheets import Sheet
from ..core.text import fold
from ..extensions import db
from ..registry.models import Unit
from ..registry.services import normalize_code
from .eligibility import Eligibility, eligibility
from .models import Assessment, AssessmentStatus, Grade, Rubric
from .services import FIRST_YEAR, GRADE_LABELS, grade_for, rubric_for, rubric_total

COLUMNS = ("registration_code", "year", "score", "rating")
_RATING_WORDS = {
    "good": Grade.GOOD,
    "tot": Grade.GOOD,
    "fair": Grade.FAIR,
    "kha": Grade.FAIR,
    "average": Grade.AVERAGE,
    "trung binh": Grade.AVERAGE,
    "weak": Grade.WEAK,
    "yeu": Grade.WEAK,
}


@dataclass(frozen=True)
class RowError:
    """One reason a row (numbered as people see it in the file; header = 1) cannot be imported."""

    row: int
    message: str

    def __str__(self) -> str:
        return _("row %(row)d: %(message)s", row=self.row, message=self.message)


@dataclass
class ImportPlan:
    """The checked rows of a file; `apply_import` writes them."""

    errors: list[RowError] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    province_code: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return _(
            "created %(created)d, updated %(updated)d, unchanged %(unchanged)d",
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


def _whole(text: str) -> int | None:
    text = text.strip()
    if text.startswith("+"):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def plan_import(sheet: Sheet, *, province_code: int | None = None) -> ImportPlan:
    """Check every row of `sheet` against the registry and the rubrics; write nothing."""
    if province_code is not None and not places.is_province(province_code):
        raise ServiceError(_("Unknown province code %(code)s.", code=province_code), "province")
    plan = ImportPlan(province_code=province_code)
    missing = [c for c in COLUMNS if c not in sheet.columns]
    if missing:
        plan.errors.append(RowError(1, _("missing column(s): %(columns)s", columns=", ".join(missing))))
        return plan

    codes = {normalize_code(raw.get("registration_code")) for _n, raw in sheet.rows}
    units = {u.registration_code: u for u in db.session.scalars(select(Unit).where(Unit.registration_code.in_(codes)))}
    rubrics: dict[int, Rubric | None] = {}
    seen: dict[tuple[str, int], int] = {}
    this_year = local_today().year

    for number, raw in sheet.rows:
        errors_before = len(plan.errors)

        def bad(message: str, number: int = number) -> None:
            plan.errors.append(RowError(number, message))

        code = normalize_code(raw.get("registration_code"))
        unit = units.get(code)
        if not code:
            bad(_("missing value in column %(column)s", column="registration_code"))
        elif unit is None:
            bad(_("unknown registration code %(code)s", code=code))
        elif province_code is not None and unit.province_code != province_code:
            bad(
                _(
                    "unit %(code)s is not in province %(province)s",
                    code=code,
                    province=places.province_name(province_code) or province_code,
                )
            )

        year = _whole(raw.get("year") or "")
        if year is None or not FIRST_YEAR <= year <= this_year:
            bad(
                _(
                    "year %(value)s is not a year from %(first)d to %(last)d",
                    value=raw.get("year") or "",
                    first=FIRST_YEAR,
                    last=this_year,
                )
            )
            year = None
        rubric = None
        if year is not None:
            if year not in rubrics:
                rubrics[year] = rubric_for(year)
            rubric = rubrics[year]
            if rubric is None:
                bad(_("no rubric covers %(year)d", year=year))

        score = _whole(raw.get("score") or "")
        if score is None or score < 0:
            bad(_("score %(value)s is not a whole number of points", value=raw.get("score") or ""))
            score = None
        elif rubric is not None and score > rubric_total(rubric):
            bad(
                _(
                    "score %(score)d is above the %(total)d points of %(code)s",
                    score=score,
                    total=rubric_total(rubric),
                    code=rubric.code,
                )
            )
            score = None

        rating_text = (raw.get("rating") or "").strip()
        rating = _RATING_WORDS.get(fold(rating_text))
        if rating is None:
            bad(_("rating %(value)s is not one of good, fair, average, weak", value=rating_text))
        elif score is not None and rubric is not None:
            expected = grade_for(score, rubric)
            if expected is not rating:
                bad(
                    _(
                        "rating %(rating)s disagrees with %(score)d points, which is %(expected)s under %(code)s",
                        rating=rating_text,
                        score=score,
                        # The file's own word (good, fair...), then the grade in the reader's language.
                        expected=f"{expected.value} ({GRADE_LABELS[expected]})",
                        code=rubric.code,
                    )
                )

        if unit is not None and year is not None:
            key = (code, year)
            if key in seen:
                bad(_("duplicate of row %(other)d: %(code)s, %(year)d", other=seen[key], code=code, year=year))
            else:
                seen[key] = number
            reason = eligibility(unit, year)
            if reason is not Eligibility.ELIGIBLE:
                bad(_("%(code)s is not classified for %(year)d: %(reason)s", code=code, year=year, reason=reason.label))

        if len(plan.errors) == errors_before:
            plan.rows.append({"unit": unit, "year": year, "rubric": rubric, "score": score, "grade": rating})

    if plan.errors:
        return plan
    existing = _existing(plan.rows)
    for row in plan.rows:
        current = existing.get((row["unit"].id, row["year"]))
        if current is None:
            plan.created += 1
        elif current.status is AssessmentStatus.FINAL:
            plan.errors.append(
                RowError(
                    _row_number(sheet, row),
                    _(
                        "%(code)s already has a final assessment for %(year)d on the platform",
                        code=row["unit"].registration_code,
                        year=row["year"],
                    ),
                )
            )
        elif (
            current.status is AssessmentStatus.IMPORTED
            and current.score == row["score"]
            and current.grade is row["grade"]
            and current.rubric_id == row["rubric"].id
        ):
            plan.unchanged += 1
        else:
            plan.updated += 1
    plan.errors.sort(key=lambda e: e.row)
    return plan


def _row_number(sheet: Sheet, row: dict[str, Any]) -> int:
    for number, raw in sheet.rows:
        if (
            normalize_code(raw.get("registration_code")) == row["unit"].registration_code
            and _whole(raw.get("year") or "") == row["year"]
        ):
            return number
    return 0  # pragma: no cover  (every planned row came from the sheet)


def _existing(rows: list[dict[str, Any]]) -> dict[tuple[int, int], Assessment]:
    unit_ids = {r["unit"].id for r in rows}
    if not unit_ids:
        return {}
    found = db.session.scalars(select(Assessment).where(Assessment.unit_id.in_(unit_ids)))
    return {(a.unit_id, a.year): a for a in found}


def apply_import(plan: ImportPlan, *, actor: User | None = None, source: str = "") -> None:
    """Write a plan without errors: create or update each row's assessment as "imported" (flushed only)."""
    if not plan.ok:
        raise ServiceError(_("The file has errors: nothing was written."))
    existing = _existing(plan.rows)
    for row in plan.rows:
        current = existing.get((row["unit"].id, row["year"]))
        if current is None:
            current = Assessment(unit_id=row["unit"].id, year=row["year"])
            db.session.add(current)
        elif current.status is AssessmentStatus.FINAL:  # pragma: no cover  (the plan refused it)
            raise ServiceError(_("A final assessment cannot be overwritten."))
        current.rubric_id = row["rubric"].id
        current.status = AssessmentStatus.IMPORTED
        current.score = row["score"]
        current.grade = row["grade"]
    db.session.flush()
    audit.record(
        "classification.imported",
        actor=actor,
        obj=("assessments", None),
        province_code=plan.province_code,
        summary=_(
            "Classification results imported from %(source)s: %(summary)s", source=source or "-", summary=plan.summary()
        ),
        after={
            "created": plan.created,
            "updated": plan.updated,
            "unchanged": plan.unchanged,
            "grades": {str(GRADE_LABELS[g]): sum(1 for r in plan.rows if r["grade"] is g) for g in Grade},
        },
    )
