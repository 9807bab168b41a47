"""Who is evaluated in the yearly classification of year Y, and why not.

The rules (DOMAIN.md: HTX and unions are evaluated; not those operating less than 12 months at the
end of the year, nor those stopped for more than 3 months in the year), made precise, first match wins:

1. NOT_EVALUATED_KIND: the unit is a THT or a QTDND (only HTX and LHHTX are evaluated).
2. NO_FOUNDING_DATE: the registry does not know when it was founded, so nothing can be decided.
3. NOT_EXISTING: founded after 31 Dec Y, or dissolved before 1 Jan Y: it did not exist in year Y.
4. DISSOLVED: dissolved within year Y (on or before 31 Dec Y): it is gone when the year is assessed
   in December, like `Unit.exists_on(31 Dec Y)` being false.
5. NEW: founded within year Y (founded_on > 31 Dec Y-1). A unit founded on 31 Dec Y-1 reaches 12 months
   on 31 Dec Y and is evaluated; one founded on 1 Jan Y has operated less than 12 months then.
6. STOPPED: stopped_on <= 30 Sep Y. The registry keeps no resumption date, so a stop lasts until the
   end of the year at least: stopped on 1 Oct Y is exactly 3 months (October to December) and is still
   evaluated; stopped on 30 Sep Y or earlier (including a stop from an earlier year) is more than 3.
7. ELIGIBLE otherwise.

`eligibility(unit, year)` applies these to one unit in Python; `condition(reason, year)` gives the same
rule as a SQLAlchemy boolean over `Unit` columns for counting in SQL (exactly one reason holds per unit),
with the shorthands `eligible_condition`, `evaluated_kind_condition` and `existing_condition`.
"""

from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from ..registry.models import Unit, UnitKind

EVALUATED_KINDS = (UnitKind.COOPERATIVE, UnitKind.UNION)


class Eligibility(enum.StrEnum):
    ELIGIBLE = "eligible"
    NOT_EVALUATED_KIND = "not_evaluated_kind"
    NO_FOUNDING_DATE = "no_founding_date"
    NOT_EXISTING = "not_existing"
    DISSOLVED = "dissolved"
    NEW = "new"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return str(_LABELS[self])


_LABELS = {
    Eligibility.ELIGIBLE: _l("eligible"),
    Eligibility.NOT_EVALUATED_KIND: _l("only cooperatives and unions are classified"),
    Eligibility.NO_FOUNDING_DATE: _l("founding date unknown"),
    Eligibility.NOT_EXISTING: _l("did not exist that year"),
    Eligibility.DISSOLVED: _l("dissolved during the year"),
    Eligibility.NEW: _l("operating less than 12 months at the end of the year"),
    Eligibility.STOPPED: _l("stopped for more than 3 months in the year"),
}


def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def _stop_limit(year: int) -> dt.date:
    """The last stop date that makes more than 3 months of stop within `year`."""
    return dt.date(year, 9, 30)


def eligibility(unit: Unit, year: int) -> Eligibility:
    """Decide whether `unit` is evaluated for `year`, or the first reason it is not."""
    if unit.kind not in EVALUATED_KINDS:
        return Eligibility.NOT_EVALUATED_KIND
    if unit.founded_on is None:
        return Eligibility.NO_FOUNDING_DATE
    if unit.founded_on > _year_end(year) or (unit.dissolved_on is not None and unit.dissolved_on < dt.date(year, 1, 1)):
        return Eligibility.NOT_EXISTING
    if unit.dissolved_on is not None and unit.dissolved_on <= _year_end(year):
        return Eligibility.DISSOLVED
    if unit.founded_on > _year_end(year - 1):
        return Eligibility.NEW
    if unit.stopped_on is not None and unit.stopped_on <= _stop_limit(year):
        return Eligibility.STOPPED
    return Eligibility.ELIGIBLE


def is_eligible(unit: Unit, year: int) -> bool:
    """Whether `unit` is evaluated for `year`."""
    return eligibility(unit, year) is Eligibility.ELIGIBLE


def _raw_conditions(year: int) -> list[tuple[Eligibility, ColumnElement[bool]]]:
    # Each test is null-safe (an IS NOT NULL beside every comparison) so that NOT of an earlier one is
    # never NULL, which would drop a row from every later reason.
    founded, dissolved, stopped = Unit.founded_on, Unit.dissolved_on, Unit.stopped_on
    return [
        (Eligibility.NOT_EVALUATED_KIND, Unit.kind.not_in(EVALUATED_KINDS)),
        (Eligibility.NO_FOUNDING_DATE, founded.is_(None)),
        (
            Eligibility.NOT_EXISTING,
            or_(
                and_(founded.is_not(None), founded > _year_end(year)),
                and_(dissolved.is_not(None), dissolved < dt.date(year, 1, 1)),
            ),
        ),
        (Eligibility.DISSOLVED, and_(dissolved.is_not(None), dissolved <= _year_end(year))),
        (Eligibility.NEW, and_(founded.is_not(None), founded > _year_end(year - 1))),
        (Eligibility.STOPPED, and_(stopped.is_not(None), stopped <= _stop_limit(year))),
        (Eligibility.ELIGIBLE, true()),
    ]


def condition(reason: Eligibility, year: int) -> ColumnElement[bool]:
    """A boolean over `Unit` columns: the unit's eligibility for `year` is `reason` (exactly one holds)."""
    earlier: list[ColumnElement[bool]] = []
    for candidate, test in _raw_conditions(year):
        if candidate is reason:
            return and_(test, *(not_(e) for e in earlier)) if earlier else test
        earlier.append(test)
    return false()  # pragma: no cover  (every reason is in the list)


def eligible_condition(year: int) -> ColumnElement[bool]:
    """A boolean over `Unit` columns: the unit is evaluated for `year`."""
    return condition(Eligibility.ELIGIBLE, year)


def evaluated_kind_condition() -> ColumnElement[bool]:
    """A boolean over `Unit` columns: the unit is of a kind that is classified (HTX or LHHTX)."""
    return Unit.kind.in_(EVALUATED_KINDS)


def existing_condition(year: int) -> ColumnElement[bool]:
    """A boolean over `Unit` columns: a classified kind that exists at the end of `year`.

    These are the units a report counts (eligible + new + stopped), leaving out those dissolved
    during the year, those not existing in it and those with no founding date.
    """
    return or_(
        condition(Eligibility.ELIGIBLE, year),
        condition(Eligibility.NEW, year),
        condition(Eligibility.STOPPED, year),
    )
