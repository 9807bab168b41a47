"""Which units a support program is for: its rules read against the registry and last year's grades.

Rules live in `SupportProgram.eligibility` (JSON); every rule given must hold, a missing one holds for
all. Units are those of the program's province that exist on the day asked (founded, not dissolved).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select

from ..classification.models import Assessment, AssessmentStatus, Grade
from ..core.i18n import local_today
from ..extensions import db
from ..members.services import active_member_counts
from ..registry.models import PlatformStatus, Sector, Unit, UnitKind
from .models import SupportProgram

COUNTED_ASSESSMENTS = (AssessmentStatus.FINAL, AssessmentStatus.IMPORTED)


@dataclass(frozen=True)
class Rules:
    """The eligibility rules of a program, parsed from its JSON."""

    kinds: tuple[UnitKind, ...] = ()
    sectors: tuple[Sector, ...] = ()
    ward_codes: tuple[int, ...] = ()
    grades: tuple[Grade, ...] = ()
    min_members: int | None = None
    on_platform: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Rules:
        """Read rules from stored JSON, ignoring values that are no longer valid."""
        data = dict(data or {})

        def members(enum_cls, key):
            out = []
            for value in data.pop(key, None) or ():
                try:
                    out.append(enum_cls(value))
                except ValueError:
                    continue
            return tuple(out)

        kinds = members(UnitKind, "kinds")
        sectors = members(Sector, "sectors")
        grades = members(Grade, "grades")
        wards = tuple(int(w) for w in data.pop("ward_codes", None) or () if str(w).isdigit())
        minimum = data.pop("min_members", None)
        minimum = int(minimum) if isinstance(minimum, int) and minimum > 0 else None
        on_platform = bool(data.pop("on_platform", False))
        return cls(kinds, sectors, wards, grades, minimum, on_platform, data)

    def to_json(self) -> dict[str, Any]:
        """Return the rules as stored: only those that restrict anything."""
        out: dict[str, Any] = {}
        if self.kinds:
            out["kinds"] = [str(k) for k in self.kinds]
        if self.sectors:
            out["sectors"] = [str(s) for s in self.sectors]
        if self.ward_codes:
            out["ward_codes"] = list(self.ward_codes)
        if self.grades:
            out["grades"] = [str(g) for g in self.grades]
        if self.min_members:
            out["min_members"] = self.min_members
        if self.on_platform:
            out["on_platform"] = True
        return out


def grade_year(program: SupportProgram) -> int:
    """The classification year a program's grade rule reads: the year before the program's."""
    return program.year - 1


def _candidates(program: SupportProgram, rules: Rules, day: dt.date) -> Select:
    query = select(Unit).where(
        Unit.province_code == program.province_code,
        Unit.founded_on.is_not(None),
        Unit.founded_on <= day,
        (Unit.dissolved_on.is_(None)) | (Unit.dissolved_on > day),
    )
    if rules.kinds:
        query = query.where(Unit.kind.in_(rules.kinds))
    if rules.sectors:
        query = query.where(Unit.sector.in_(rules.sectors))
    if rules.ward_codes:
        query = query.where(Unit.ward_code.in_(rules.ward_codes))
    if rules.on_platform:
        query = query.where(Unit.platform_status == PlatformStatus.APPROVED)
    if rules.grades:
        graded = select(Assessment.unit_id).where(
            Assessment.year == grade_year(program),
            Assessment.status.in_(COUNTED_ASSESSMENTS),
            Assessment.grade.in_(rules.grades),
        )
        query = query.where(Unit.id.in_(graded))
    return query.order_by(Unit.name, Unit.id)


def eligible_units(
    program: SupportProgram, day: dt.date | None = None, *, unit_ids: list[int] | None = None
) -> list[Unit]:
    """Return the units `program` is for on `day` (today in Vietnam), by name; only `unit_ids` if given."""
    day = day or local_today()
    rules = Rules.parse(program.eligibility)
    query = _candidates(program, rules, day)
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    units = list(db.session.scalars(query))
    if rules.min_members:
        # Members come from the register where a unit keeps one: not a column, so filtered here.
        counts = active_member_counts([u.id for u in units], on=day)
        units = [u for u in units if counts.get(u.id, 0) >= rules.min_members]
    return units


def is_eligible(program: SupportProgram, unit: Unit, day: dt.date | None = None) -> bool:
    """Tell whether `unit` is eligible for `program` on `day`."""
    if unit.province_code != program.province_code:
        return False
    return bool(eligible_units(program, day, unit_ids=[unit.id]))


def reachable(unit: Unit) -> bool:
    """Whether the unit can be told online: approved on the platform (it has staff accounts)."""
    return unit.platform_status is PlatformStatus.APPROVED and unit.dissolved_on is None
