"""Import the official registry from a spreadsheet: plan (pure, no writes), then apply in one transaction.

A plan validates every row, compares it with the units already stored (keyed by registration code) and
lists what would change. Applying writes nothing unless the plan has no errors, and uses bulk statements
so that ten thousand rows take seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from ..accounts.models import Role, User
from ..core import places
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import local_today
from ..core.models import utcnow
from ..core.spreadsheets import Sheet, SpreadsheetError, read_sheet
from ..core.text import fold, nfc
from ..core.validators import parse_iso_date, parse_whole_number
from ..extensions import db
from .models import PlatformStatus, Sector, Unit, UnitKind
from .services import normalize_code

COLUMNS = (
    "registration_code",
    "name",
    "kind",
    "sector",
    "founded_on",
    "stopped_on",
    "dissolved_on",
    "ward_code",
    "members",
    "charter_capital_vnd",
)
# The unit fields an import owns, in the order a preview lists them.
FIELDS = (
    "name",
    "kind",
    "sector",
    "founded_on",
    "stopped_on",
    "dissolved_on",
    "ward_code",
    "province_code",
    "declared_members",
    "charter_capital_vnd",
)
# Many databases cap the number of bound parameters in one statement (SQLite: 32766, older: 999).
LOOKUP_CHUNK = 900
PG_LOOKUP_CHUNK = 5000  # one array parameter: no limit but the size of a query
WRITE_CHUNK = 1000

_SECTOR_WORDS = {
    "agriculture": Sector.AGRICULTURE,
    "non_agriculture": Sector.NON_AGRICULTURE,
    "non-agriculture": Sector.NON_AGRICULTURE,
    "nong nghiep": Sector.AGRICULTURE,
    "phi nong nghiep": Sector.NON_AGRICULTURE,
}

Progress = Callable[[int], Any]


@dataclass(frozen=True)
class RowError:
    """One reason a row (its number as people see it in the file; header = 1) cannot be imported."""

    row: int
    message: str

    def __str__(self) -> str:
        return _("row %(row)d: %(message)s", row=self.row, message=self.message)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RowPlan:
    """What one valid row does: create a unit, or update the listed fields of one."""

    row: int
    registration_code: str
    action: str  # "create" | "update"
    changes: tuple[Change, ...]


@dataclass
class ImportPlan:
    """The outcome of checking a file against the registry; `apply_import` writes it."""

    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[RowPlan] = field(default_factory=list)
    unchanged: int = 0
    province_code: int | None = None
    _creates: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _updates: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created(self) -> int:
        return len(self._creates)

    @property
    def updated(self) -> int:
        return len(self._updates)

    def summary(self) -> str:
        return _(
            "created %(created)d, updated %(updated)d, unchanged %(unchanged)d",
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


def import_scope(actor: User | None, province_code: int | None = None) -> int | None:
    """Return the province an import is limited to (None: every province).

    `actor` None is the command line, trusted with any province; officers only ever import their own.
    """
    if province_code is not None and not places.is_province(province_code):
        raise ServiceError(_("Unknown province code %(code)s.", code=province_code), "province")
    if actor is None or actor.role is Role.ADMIN:
        return province_code
    if actor.role is Role.OFFICER:
        if province_code is not None and province_code != actor.province_code:
            raise PermissionDenied(_("You may only import units of your own province."))
        return actor.province_code
    raise PermissionDenied(_("Only province officers can import the registry."))


# ---------------------------------------------------------------- parsing one row


def _parse_kind(value: str) -> UnitKind:
    return UnitKind(value.strip().upper())


def _parse_sector(value: str) -> Sector:
    sector = _SECTOR_WORDS.get(fold(value))
    if sector is None:
        raise ValueError(value)
    return sector


def _parse_row(number: int, raw: dict[str, str], today: dt.date, scope: int | None) -> tuple[dict, list[RowError]]:
    """Return the unit values of one row and the reasons it is bad (all of them, not just the first)."""
    errors: list[RowError] = []

    def bad(message: str) -> None:
        errors.append(RowError(number, message))

    values: dict[str, Any] = {}
    code = normalize_code(raw.get("registration_code"))
    if not code:
        bad(_("missing value in column %(column)s", column="registration_code"))
    elif len(code) > 40:
        bad(_("registration code longer than %(n)d characters", n=40))
    values["registration_code"] = code

    name = nfc(raw.get("name")) or ""
    if not name:
        bad(_("missing value in column %(column)s", column="name"))
    elif len(name) > 255:
        bad(_("name longer than %(n)d characters", n=255))
    values["name"] = name

    kind_text = (raw.get("kind") or "").strip()
    if not kind_text:
        bad(_("missing value in column %(column)s", column="kind"))
    else:
        try:
            values["kind"] = _parse_kind(kind_text)
        except ValueError:
            bad(_("unknown kind %(value)s (use THT, HTX, LHHTX or QTDND)", value=kind_text))

    sector_text = (raw.get("sector") or "").strip()
    if not sector_text:
        bad(_("missing value in column %(column)s", column="sector"))
    else:
        try:
            values["sector"] = _parse_sector(sector_text)
        except ValueError:
            bad(_("unknown sector %(value)s (use agriculture or non_agriculture)", value=sector_text))

    for column in ("founded_on", "stopped_on", "dissolved_on"):
        text = raw.get(column) or ""
        try:
            day = parse_iso_date(text)
        except ValueError:
            bad(_("bad date %(value)s in column %(column)s (use YYYY-MM-DD)", value=text.strip(), column=column))
            continue
        if day is not None and day > today:
            bad(_("date %(value)s in column %(column)s is in the future", value=day.isoformat(), column=column))
        values[column] = day
    founded = values.get("founded_on")
    if founded is not None:
        if values.get("stopped_on") is not None and values["stopped_on"] < founded:
            bad(_("stopped before founded"))
        if values.get("dissolved_on") is not None and values["dissolved_on"] < founded:
            bad(_("dissolved before founded"))

    ward_text = (raw.get("ward_code") or "").strip()
    if not ward_text:
        bad(_("missing value in column %(column)s", column="ward_code"))
    else:
        ward = int(ward_text) if ward_text.isdigit() else None
        province = places.ward_province(ward) if ward is not None else None
        if province is None:
            bad(_("unknown ward code %(value)s", value=ward_text))
        elif scope is not None and province != scope:
            bad(
                _(
                    "ward %(ward)s is in %(province)s, outside the province of this import",
                    ward=ward_text,
                    province=places.province_name(province),
                )
            )
        else:
            values["ward_code"] = ward
            values["province_code"] = province

    for column, target in (("members", "declared_members"), ("charter_capital_vnd", "charter_capital_vnd")):
        text = raw.get(column) or ""
        try:
            number_value = parse_whole_number(text)
        except ValueError:
            bad(_("%(value)s in column %(column)s is not a whole number", value=text.strip(), column=column))
            continue
        if number_value is not None and number_value < 0:
            bad(_("negative number in column %(column)s", column=column))
            continue
        values[target] = number_value or 0
    return values, errors


# ---------------------------------------------------------------- planning


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Load the stored import fields of the units with these codes, one query per chunk."""
    columns = [Unit.id, Unit.registration_code, *(getattr(Unit, f) for f in FIELDS)]
    postgres = db.session.get_bind().dialect.name == "postgresql"
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(codes, PG_LOOKUP_CHUNK if postgres else LOOKUP_CHUNK):
        if postgres:
            # A join with one array parameter, not `IN ($1, ..., $900)`: once psycopg prepares the statement,
            # PostgreSQL's generic plan compares every row with every parameter, which is slow on a large table
            # whose statistics are not fresh (right after a first import). A join stays a hash or index join.
            wanted = func.unnest(literal(list(chunk), ARRAY(String))).table_valued("code").render_derived("wanted")
            query = select(*columns).join(wanted, Unit.registration_code == wanted.c.code)
        else:
            query = select(*columns).where(Unit.registration_code.in_(chunk))
        for row in db.session.execute(query):
            found[row.registration_code] = row._asdict()
    return found


def plan_import(
    data: bytes, *, actor: User | None, province_code: int | None = None, progress: Progress | None = None
) -> ImportPlan:
    """Check `data` (CSV or XLSX) row by row against the registry; write nothing.

    `progress`, when given, is called with the number of rows just checked.
    """
    scope = import_scope(actor, province_code)
    try:
        sheet = read_sheet(data)
    except SpreadsheetError:
        plan = ImportPlan(province_code=scope)
        plan.errors.append(RowError(1, _("the file cannot be read: upload a UTF-8 CSV or an XLSX file")))
        return plan
    return plan_sheet(sheet, actor=actor, province_code=province_code, progress=progress)


def plan_sheet(
    sheet: Sheet, *, actor: User | None, province_code: int | None = None, progress: Progress | None = None
) -> ImportPlan:
    """Check rows already read from a file (see `plan_import`); write nothing."""
    scope = import_scope(actor, province_code)
    plan = ImportPlan(province_code=scope)
    missing = [c for c in COLUMNS if c not in sheet.columns]
    if missing:
        plan.errors.append(RowError(1, _("missing required column %(columns)s", columns=", ".join(missing))))
        return plan

    today = local_today()
    plan.total_rows = len(sheet.rows)
    parsed: list[tuple[int, dict[str, Any]]] = []
    first_row_of: dict[str, int] = {}
    for index, (number, raw) in enumerate(sheet.rows, start=1):
        values, errors = _parse_row(number, raw, today, scope)
        code = values["registration_code"]
        if code:
            if code in first_row_of:
                errors.append(
                    RowError(
                        number,
                        _("duplicate code %(code)s (first on row %(first)d)", code=code, first=first_row_of[code]),
                    )
                )
            else:
                first_row_of[code] = number
        plan.errors.extend(errors)
        if not errors:
            parsed.append((number, values))
        if progress is not None and index % 500 == 0:
            progress(500)
    if progress is not None and plan.total_rows % 500:
        progress(plan.total_rows % 500)

    existing = _existing(list(first_row_of))
    now = utcnow()
    for number, values in parsed:
        code = values["registration_code"]
        stored = existing.get(code)
        if stored is None:
            plan.rows.append(
                RowPlan(number, code, "create", tuple(Change(f, None, values[f]) for f in FIELDS if values[f]))
            )
            plan._creates.append(
                {
                    "registration_code": code,
                    **{f: values[f] for f in FIELDS},
                    "name_folded": fold(values["name"]),
                    "platform_status": PlatformStatus.NOT_JOINED,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        if scope is not None and stored["province_code"] != scope:
            plan.errors.append(RowError(number, _("unit %(code)s is registered in another province", code=code)))
            continue
        changes = tuple(Change(f, stored[f], values[f]) for f in FIELDS if stored[f] != values[f])
        if not changes:
            plan.unchanged += 1
            continue
        plan.rows.append(RowPlan(number, code, "update", changes))
        plan._updates.append(
            {
                "id": stored["id"],
                **{f: values[f] for f in FIELDS},
                "name_folded": fold(values["name"]),
                "updated_at": now,
            }
        )
    plan.errors.sort(key=lambda e: e.row)
    return plan


# ---------------------------------------------------------------- applying


def apply_import(
    plan: ImportPlan, *, actor: User | None = None, progress: Progress | None = None, source: str | None = None
) -> ImportPlan:
    """Write a plan that has no errors with bulk statements; the caller commits (one transaction).

    `actor` None is the command line; the audit log records who imported what either way.
    """
    from ..audit import services as audit

    if not plan.ok:
        raise ServiceError(_("The file has errors; nothing was imported."))
    session = db.session
    for chunk in _chunks(plan._creates, WRITE_CHUNK):
        session.execute(insert(Unit), list(chunk))
        if progress is not None:
            progress(len(chunk))
    for chunk in _chunks(plan._updates, WRITE_CHUNK):
        session.execute(update(Unit), list(chunk))
        if progress is not None:
            progress(len(chunk))
    # Units loaded earlier in this session must not keep their old values.
    session.expire_all()
    audit.record(
        "registry.import",
        actor=actor,
        obj=("registry_import", None),
        province_code=plan.province_code,
        summary=f"Imported the registry{f' from {source}' if source else ''}: "
        f"{plan.created} created, {plan.updated} updated, {plan.unchanged} unchanged",
        after={
            "created": plan.created,
            "updated": plan.updated,
            "unchanged": plan.unchanged,
            "rows": plan.total_rows,
            "codes": [row.registration_code for row in plan.rows[:200]],
        },
    )
    return plan


def import_file(data: bytes, *, actor: User | None, province_code: int | None = None) -> ImportPlan:
    """Plan and, when the file is clean, apply in one go (the caller commits)."""
    plan = plan_import(data, actor=actor, province_code=province_code)
    if plan.ok:
        apply_import(plan, actor=actor)
    return plan


# A preview names fields as the file's columns, which is what the officer knows.
_FIELD_COLUMNS = {"declared_members": "members", "province_code": "province"}


def column_name(field_name: str) -> str:
    """Return the file column a unit field comes from."""
    return _FIELD_COLUMNS.get(field_name, field_name)


def display_value(field_name: str, value: Any) -> str:
    """Render a planned value for a preview (dates as dd/mm/yyyy, names for wards, grouped numbers)."""
    from ..core.i18n import number

    if value is None or value == "":
        return "—"
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if field_name in ("declared_members", "charter_capital_vnd"):
        return number(value)
    if field_name == "ward_code":
        return f"{places.ward_name(value)} ({value})"
    if field_name == "province_code":
        return f"{places.province_name(value)} ({value})"
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)
