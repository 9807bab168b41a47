"""Member register verbs: members join and leave, contribute and take back capital.

Services flush and never commit; the request commits once. The acting user is explicit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from ..accounts.models import User
from ..core.errors import ServiceError
from ..core.i18n import date_vn, local_today, vnd
from ..core.spreadsheets import SpreadsheetError, read_sheet, write_xlsx
from ..core.text import fold, nfc
from ..core.validators import normalize_vn_phone, parse_whole_number
from ..extensions import db
from ..registry.models import Unit
from .labels import CATEGORY_LABELS, ENTRY_KIND_LABELS, ROLE_LABELS, category_words, role_words
from .models import CapitalEntry, CapitalEntryKind, Member, MemberCategory, MemberRole

CODE_PREFIX = "TV"  # thành viên
_AUTO_CODE = re.compile(rf"^{CODE_PREFIX}(\d+)$")
MAX_CODE, MAX_NAME, MAX_PHONE, MAX_ADDRESS, MAX_REASON = 40, 120, 20, 255, 255


class Status:
    """Register list filters: who is in the register on a day."""

    ACTIVE = "active"
    LEFT = "left"
    ALL = "all"


@dataclass(frozen=True)
class MemberData:
    """What a form (or an import row) says about a member."""

    full_name: str
    joined_on: dt.date
    code: str | None = None
    phone: str | None = None
    address: str | None = None
    category: MemberCategory = MemberCategory.OFFICIAL
    role: MemberRole = MemberRole.MEMBER


# ------------------------------------------------------------------ members


def clean_code(code: str | None) -> str | None:
    """Normalise a member number: NFC, trimmed, upper case (so "tv0001" and "TV0001" are one)."""
    return (nfc(code) or "").upper() or None


def next_code(unit: Unit) -> str:
    """Return the next free automatic member number of `unit` ("TV0001", "TV0002", ...)."""
    codes = db.session.scalars(
        select(Member.code).where(Member.unit_id == unit.id, Member.code.like(f"{CODE_PREFIX}%"))
    )
    numbers = [int(m.group(1)) for c in codes if (m := _AUTO_CODE.match(c))]
    return f"{CODE_PREFIX}{max(numbers, default=0) + 1:04d}"


def _lock_unit(unit: Unit) -> None:
    # Two staff adding members at once must not both take the same automatic number (PostgreSQL;
    # SQLite has a single writer anyway and ignores FOR UPDATE).
    db.session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())


def _lock_member(member: Member) -> None:
    # Two returns recorded at once must not both pass the balance check.
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())


def _code_taken(unit: Unit, code: str, member: Member | None) -> bool:
    query = select(Member.id).where(Member.unit_id == unit.id, Member.code == code)
    if member is not None and member.id is not None:
        query = query.where(Member.id != member.id)
    return db.session.scalar(query.limit(1)) is not None


def _ledger_bounds(member: Member) -> tuple[dt.date | None, dt.date | None]:
    """The date of the member's first entry, and of the last contribution."""
    if member.id is None:
        return None, None
    first, last_in = db.session.execute(
        select(
            func.min(CapitalEntry.entry_date),
            func.max(case((CapitalEntry.kind == CapitalEntryKind.CONTRIBUTED, CapitalEntry.entry_date), else_=None)),
        ).where(CapitalEntry.member_id == member.id)
    ).one()
    return first, last_in


def _clean(data: MemberData, unit: Unit, member: Member | None) -> dict:
    """Check and normalise `data`; raise ServiceError on the first bad field."""
    full_name = nfc(data.full_name) or ""
    if not full_name:
        raise ServiceError(_("Enter the member's full name."), "full_name")
    if len(full_name) > MAX_NAME:
        raise ServiceError(_("At most %(n)d characters.", n=MAX_NAME), "full_name")
    code = clean_code(data.code)
    if code is not None:
        if len(code) > MAX_CODE:
            raise ServiceError(_("At most %(n)d characters.", n=MAX_CODE), "code")
        if _code_taken(unit, code, member):
            raise ServiceError(_("Another member already has the number %(code)s.", code=code), "code")
    phone = None
    if data.phone and data.phone.strip():
        phone = normalize_vn_phone(data.phone)
        if phone is None:
            raise ServiceError(_("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84)."), "phone")
    address = nfc(data.address) or None
    if address and len(address) > MAX_ADDRESS:
        raise ServiceError(_("At most %(n)d characters.", n=MAX_ADDRESS), "address")
    if data.joined_on is None:
        raise ServiceError(_("Enter the date the member joined."), "joined_on")
    if data.joined_on > local_today():
        raise ServiceError(_("The joining date cannot be in the future."), "joined_on")
    if member is not None:
        if member.left_on is not None and data.joined_on > member.left_on:
            raise ServiceError(
                _("The member left on %(date)s; the joining date must be before that.", date=date_vn(member.left_on)),
                "joined_on",
            )
        first_entry, _last = _ledger_bounds(member)
        if first_entry is not None and data.joined_on > first_entry:
            raise ServiceError(
                _(
                    "The member's capital ledger starts on %(date)s; the joining date cannot be later.",
                    date=date_vn(first_entry),
                ),
                "joined_on",
            )
    return dict(
        code=code,
        full_name=full_name,
        phone=phone,
        address=address,
        category=MemberCategory(data.category),
        role=MemberRole(data.role),
        joined_on=data.joined_on,
    )


def add_member(unit: Unit, *, actor: User, data: MemberData) -> Member:
    """Add a member to the unit's register; a blank number gets the next automatic one."""
    _lock_unit(unit)
    values = _clean(data, unit, None)
    if values["code"] is None:
        values["code"] = next_code(unit)
    member = Member(unit_id=unit.id, **values)
    db.session.add(member)
    db.session.flush()
    return member


def update_member(member: Member, *, actor: User, data: MemberData) -> Member:
    """Change a member's details (leaving has its own verb)."""
    unit = db.session.get(Unit, member.unit_id)
    values = _clean(data, unit, member)
    if values["code"] is None:
        values["code"] = member.code  # a blank number keeps the one the member has
    for name, value in values.items():
        setattr(member, name, value)
    db.session.flush()
    return member


def mark_left(member: Member, *, actor: User, left_on: dt.date, reason: str | None = None) -> Member:
    """Record that the member left the unit on `left_on`."""
    if member.left_on is not None:
        raise ServiceError(_("This member already left on %(date)s.", date=date_vn(member.left_on)), "left_on")
    if left_on is None:
        raise ServiceError(_("Enter the date the member left."), "left_on")
    if left_on < member.joined_on:
        raise ServiceError(
            _("The member joined on %(date)s; they cannot leave before that.", date=date_vn(member.joined_on)),
            "left_on",
        )
    if left_on > local_today():
        raise ServiceError(_("The leaving date cannot be in the future."), "left_on")
    _first, last_in = _ledger_bounds(member)
    if last_in is not None and left_on < last_in:
        raise ServiceError(
            _("The member contributed capital on %(date)s; they cannot have left before that.", date=date_vn(last_in)),
            "left_on",
        )
    reason = nfc(reason) or None
    if reason and len(reason) > MAX_REASON:
        raise ServiceError(_("At most %(n)d characters.", n=MAX_REASON), "reason")
    member.left_on = left_on
    member.left_reason = reason
    db.session.flush()
    return member


def list_members(
    unit: Unit,
    *,
    status: str = Status.ACTIVE,
    q: str | None = None,
    category: MemberCategory | None = None,
    role: MemberRole | None = None,
    on: dt.date | None = None,
) -> list[Member]:
    """The unit's members matching the filters, by number."""
    on = on or local_today()
    query = select(Member).where(Member.unit_id == unit.id)
    if status == Status.ACTIVE:
        query = query.where(_active_on(on))
    elif status == Status.LEFT:
        query = query.where(Member.left_on.is_not(None), Member.left_on <= on)
    if category is not None:
        query = query.where(Member.category == category)
    if role is not None:
        query = query.where(Member.role == role)
    members = list(db.session.scalars(query.order_by(Member.code, Member.id)))
    needle = fold(q or "")
    if needle:
        # Folded in Python, so "nguyen van" finds "Nguyễn Văn" on every backend; a register holds
        # hundreds of members, not millions.
        members = [m for m in members if needle in fold(m.full_name) or needle in fold(m.code)]
    return members


# ------------------------------------------------------------------ counts


def _active_on(on: dt.date):
    return and_(Member.joined_on <= on, or_(Member.left_on.is_(None), Member.left_on > on))


def has_register(unit: Unit) -> bool:
    """Whether the unit keeps a member register here (at least one member recorded)."""
    return db.session.scalar(select(Member.id).where(Member.unit_id == unit.id).limit(1)) is not None


def member_count(unit: Unit, on: dt.date | None = None) -> int:
    """Active members on `on` (today in Vietnam): from the register if kept, else the declared count."""
    if not has_register(unit):
        return unit.declared_members or 0
    on = on or local_today()
    return db.session.scalar(select(func.count(Member.id)).where(Member.unit_id == unit.id, _active_on(on))) or 0


def active_member_counts(unit_ids: Iterable[int], on: dt.date | None = None) -> dict[int, int]:
    """Map unit id to its member count (as `member_count`), for many units in one query."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    on = on or local_today()
    rows = db.session.execute(
        select(
            Unit.id,
            Unit.declared_members,
            func.count(Member.id),
            func.coalesce(func.sum(case((_active_on(on), 1), else_=0)), 0),
        )
        .outerjoin(Member, Member.unit_id == Unit.id)
        .where(Unit.id.in_(ids))
        .group_by(Unit.id, Unit.declared_members)
    )
    return {uid: int(active) if recorded else (declared or 0) for uid, declared, recorded, active in rows}


@dataclass(frozen=True)
class RegisterTotals:
    has_register: bool
    active: int
    official: int
    associate: int
    left: int
    capital_vnd: int


def register_totals(unit: Unit, on: dt.date | None = None) -> RegisterTotals:
    """Head counts by category and the capital held, for the top of the register."""
    on = on or local_today()
    counts = dict(
        db.session.execute(
            select(Member.category, func.count(Member.id))
            .where(Member.unit_id == unit.id, _active_on(on))
            .group_by(Member.category)
        ).all()
    )
    left = db.session.scalar(
        select(func.count(Member.id)).where(
            Member.unit_id == unit.id, Member.left_on.is_not(None), Member.left_on <= on
        )
    )
    official = counts.get(MemberCategory.OFFICIAL, 0)
    associate = counts.get(MemberCategory.ASSOCIATE, 0)
    return RegisterTotals(
        has_register=has_register(unit),
        active=official + associate,
        official=official,
        associate=associate,
        left=left or 0,
        capital_vnd=unit_capital(unit),
    )


# ------------------------------------------------------------------ capital


_SIGNED = case(
    (CapitalEntry.kind == CapitalEntryKind.CONTRIBUTED, CapitalEntry.amount_vnd), else_=-CapitalEntry.amount_vnd
)


def member_balance(member: Member) -> int:
    """The capital the member holds now: contributions less returns."""
    total = db.session.scalar(select(func.sum(_SIGNED)).where(CapitalEntry.member_id == member.id))
    return int(total or 0)


def unit_capital(unit: Unit) -> int:
    """The capital all members of the unit hold now."""
    total = db.session.scalar(select(func.sum(_SIGNED)).where(CapitalEntry.unit_id == unit.id))
    return int(total or 0)


def member_balances(unit: Unit) -> dict[int, int]:
    """Map member id to balance for every member of the unit with entries, in one query."""
    rows = db.session.execute(
        select(CapitalEntry.member_id, func.sum(_SIGNED))
        .where(CapitalEntry.unit_id == unit.id)
        .group_by(CapitalEntry.member_id)
    )
    return {member_id: int(total or 0) for member_id, total in rows}


@dataclass(frozen=True)
class LedgerLine:
    entry: CapitalEntry
    balance_vnd: int  # the member's balance just after this entry


def ledger(member: Member) -> list[LedgerLine]:
    """The member's entries in date order, each with the running balance."""
    entries = db.session.scalars(
        select(CapitalEntry)
        .where(CapitalEntry.member_id == member.id)
        .order_by(CapitalEntry.entry_date, CapitalEntry.id)
    )
    lines, balance = [], 0
    for entry in entries:
        balance += entry.signed_amount
        lines.append(LedgerLine(entry, balance))
    return lines


def record_contribution(
    member: Member,
    *,
    actor: User,
    kind: CapitalEntryKind | str,
    amount_vnd: int,
    entry_date: dt.date,
    note: str | None = None,
) -> CapitalEntry:
    """Append a contribution or a return to the member's capital ledger."""
    kind = CapitalEntryKind(kind)
    if not isinstance(amount_vnd, int) or isinstance(amount_vnd, bool) or amount_vnd <= 0:
        raise ServiceError(_("Enter an amount in đồng greater than zero."), "amount_vnd")
    if entry_date is None:
        raise ServiceError(_("Enter the date."), "entry_date")
    if entry_date > local_today():
        raise ServiceError(_("The date cannot be in the future."), "entry_date")
    if entry_date < member.joined_on:
        raise ServiceError(
            _("The member joined on %(date)s; the date cannot be earlier.", date=date_vn(member.joined_on)),
            "entry_date",
        )
    if kind is CapitalEntryKind.CONTRIBUTED and member.left_on is not None and entry_date > member.left_on:
        raise ServiceError(
            _("The member left on %(date)s; no contribution can be recorded after that.", date=date_vn(member.left_on)),
            "entry_date",
        )
    note = nfc(note) or None
    if kind is CapitalEntryKind.RETURNED:
        _lock_member(member)
        lines = ledger(member)
        # A back-dated return lowers every later running balance too: none may go below zero.
        at_date = sum(line.entry.signed_amount for line in lines if line.entry.entry_date <= entry_date)
        later = [line.balance_vnd for line in lines if line.entry.entry_date > entry_date]
        room = min([at_date, *later])
        if amount_vnd > room:
            raise ServiceError(
                _(
                    "A return cannot exceed the capital the member holds: at most %(amount)s on this date.",
                    amount=vnd(max(room, 0)),
                ),
                "amount_vnd",
            )
    entry = CapitalEntry(
        unit_id=member.unit_id,
        member_id=member.id,
        kind=kind,
        amount_vnd=amount_vnd,
        entry_date=entry_date,
        note=note,
        recorded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


# ------------------------------------------------------------------ import


COLUMNS = ("code", "full_name", "phone", "address", "category", "role", "joined_on", "left_on", "capital_vnd")
REQUIRED_COLUMNS = ("code", "full_name", "joined_on")
MAX_IMPORT_ROWS = 5000  # far above any cooperative's register; keeps a preview page reasonable

# Folded header spellings people use; the export's own (translated) headers are added at run time.
_HEADER_WORDS = {
    "code": ("code", "ma", "ma thanh vien", "ma tv", "so thanh vien", "member number", "number"),
    "full_name": ("full_name", "full name", "name", "ho ten", "ho va ten", "ten", "ten thanh vien"),
    "phone": ("phone", "dien thoai", "so dien thoai", "sdt"),
    "address": ("address", "dia chi"),
    "category": ("category", "loai", "loai thanh vien"),
    "role": ("role", "chuc vu", "vai tro"),
    "joined_on": ("joined_on", "joined", "joined on", "ngay vao", "ngay gia nhap", "ngay tham gia"),
    "left_on": ("left_on", "left", "left on", "ngay ra", "ngay roi", "ngay ra khoi"),
    "capital_vnd": ("capital_vnd", "capital", "von gop", "so von gop", "von gop ban dau"),
}


def export_headers() -> dict[str, str]:
    """The register sheet's column headers, in the current language."""
    return {
        "code": _("Member number"),
        "full_name": _("Full name"),
        "phone": _("Phone"),
        "address": _("Address"),
        "category": _("Category"),
        "role": _("Role"),
        "joined_on": _("Joined on"),
        "left_on": _("Left on"),
        "capital_vnd": _("Capital balance (VND)"),
    }


def _header_map(columns: list[str]) -> dict[str, str]:
    """Map each file column to our column name (unknown columns are ignored)."""
    words = {fold(w): key for key, spellings in _HEADER_WORDS.items() for w in spellings}
    words.update({fold(label): key for key, label in export_headers().items()})
    found: dict[str, str] = {}
    for column in columns:
        key = words.get(fold(column.replace("_", " "))) or words.get(fold(column))
        if key and key not in found.values():
            found[column] = key
    return found


def _parse_date(text: str) -> dt.date | None:
    """Parse YYYY-MM-DD or dd/mm/yyyy (the way dates are written in Vietnam); empty is None."""
    text = text.strip()
    if not text:
        return None
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        y, mo, d = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        d, mo, y = m.groups()
    else:
        raise ValueError(text)
    return dt.date(int(y), int(mo), int(d))


@dataclass
class ImportRow:
    """One good row of an import file."""

    number: int
    values: dict  # our column -> parsed value, only for the columns the file has
    capital_vnd: int | None = None


@dataclass
class ImportChange:
    member: Member
    row: ImportRow
    fields: list[str]  # the columns whose value changes


@dataclass
class ImportPlan:
    """What an import would do: new members, changed members, unchanged rows, and errors."""

    new: list[ImportRow] = field(default_factory=list)
    changed: list[ImportChange] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    ignored_capital: int = 0  # rows with capital for members who already exist

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed)


class MemberImportRejected(ServiceError):
    """The file has bad rows; nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__(_("The file has errors; nothing was imported."))
        self.errors = errors


def _row_error(number: int, reason: str) -> str:
    return _("row %(n)d: %(reason)s", n=number, reason=reason)


def _parse_row(number: int, raw: dict[str, str], columns: dict[str, str], today: dt.date) -> tuple[ImportRow, list]:
    cells = {key: (raw.get(column) or "").strip() for column, key in columns.items()}
    errors: list[str] = []
    values: dict = {}

    code = clean_code(cells.get("code"))
    if not code:
        errors.append(_("the member number (code) is missing"))
    elif len(code) > MAX_CODE:
        errors.append(_("the member number is longer than %(n)d characters", n=MAX_CODE))
    values["code"] = code

    name = nfc(cells.get("full_name")) or ""
    if not name:
        errors.append(_("the full name is missing"))
    elif len(name) > MAX_NAME:
        errors.append(_("the full name is longer than %(n)d characters", n=MAX_NAME))
    values["full_name"] = name

    if "phone" in cells:
        phone = None
        if cells["phone"]:
            phone = normalize_vn_phone(cells["phone"])
            if phone is None:
                errors.append(_("“%(value)s” is not a Vietnamese phone number", value=cells["phone"]))
        values["phone"] = phone
    if "address" in cells:
        address = nfc(cells["address"]) or None
        if address and len(address) > MAX_ADDRESS:
            errors.append(_("the address is longer than %(n)d characters", n=MAX_ADDRESS))
        values["address"] = address
    if "category" in cells:
        if not cells["category"]:
            values["category"] = MemberCategory.OFFICIAL
        elif (category := category_words().get(fold(cells["category"]))) is None:
            errors.append(_("unknown category “%(value)s” (official or associate)", value=cells["category"]))
        else:
            values["category"] = category
    if "role" in cells:
        if not cells["role"]:
            values["role"] = MemberRole.MEMBER
        elif (role := role_words().get(fold(cells["role"]))) is None:
            errors.append(
                _(
                    "unknown role “%(value)s” (chair, director, board, supervisory or member)",
                    value=cells["role"],
                )
            )
        else:
            values["role"] = role

    for key in ("joined_on", "left_on"):
        if key not in cells:
            continue
        try:
            values[key] = _parse_date(cells[key])
        except ValueError:
            errors.append(_("“%(value)s” is not a date (YYYY-MM-DD or dd/mm/yyyy)", value=cells[key]))
            values[key] = None
            continue
        if values[key] is not None and values[key] > today:
            errors.append(_("the date %(date)s is in the future", date=date_vn(values[key])))
    joined, left = values.get("joined_on"), values.get("left_on")
    if joined is None and cells.get("joined_on", "") == "":
        errors.append(_("the joining date is missing"))
    if joined and left and left < joined:
        errors.append(_("left on %(left)s, before joining on %(joined)s", left=date_vn(left), joined=date_vn(joined)))

    capital = None
    if cells.get("capital_vnd"):
        try:
            capital = parse_whole_number(cells["capital_vnd"])
        except ValueError:
            errors.append(_("the capital “%(value)s” is not a whole number of đồng", value=cells["capital_vnd"]))
        else:
            if capital is not None and capital < 0:
                errors.append(_("the capital cannot be negative"))
                capital = None
    return ImportRow(number=number, values=values, capital_vnd=capital or None), errors


def plan_import(unit: Unit, data: bytes) -> ImportPlan:
    """Read an import file and work out what it would change, without writing anything."""
    plan = ImportPlan()
    try:
        sheet = read_sheet(data)
    except SpreadsheetError:
        plan.errors.append(_("The file is not a CSV (UTF-8) or XLSX spreadsheet, or it is empty."))
        return plan
    columns = _header_map(sheet.columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns.values()]
    if missing:
        plan.errors.append(_("The file has no column for: %(columns)s.", columns=", ".join(missing)))
        return plan
    if not sheet.rows:
        plan.errors.append(_("The file has no rows under its header."))
        return plan
    if len(sheet.rows) > MAX_IMPORT_ROWS:
        plan.errors.append(_("The file has more than %(n)d rows; split it into smaller files.", n=MAX_IMPORT_ROWS))
        return plan

    today = local_today()
    existing = {m.code: m for m in db.session.scalars(select(Member).where(Member.unit_id == unit.id))}
    bounds = {
        member_id: (first, last_in)
        for member_id, first, last_in in db.session.execute(
            select(
                CapitalEntry.member_id,
                func.min(CapitalEntry.entry_date),
                func.max(
                    case((CapitalEntry.kind == CapitalEntryKind.CONTRIBUTED, CapitalEntry.entry_date), else_=None)
                ),
            )
            .where(CapitalEntry.unit_id == unit.id)
            .group_by(CapitalEntry.member_id)
        )
    }
    seen: dict[str, int] = {}
    for number, raw in sheet.rows:
        row, reasons = _parse_row(number, raw, columns, today)
        code = row.values["code"]
        if code:
            if code in seen:
                reasons.append(_("the member number %(code)s is also on row %(other)d", code=code, other=seen[code]))
            else:
                seen[code] = number
        member = existing.get(code) if code else None
        if member is not None and not reasons:
            reasons += _check_existing(member, row, bounds.get(member.id, (None, None)))
        plan.errors += [_row_error(number, reason) for reason in reasons]
        if reasons:
            continue
        if member is None:
            plan.new.append(row)
            continue
        if row.capital_vnd:
            plan.ignored_capital += 1
        changed = [key for key, value in row.values.items() if getattr(member, key) != value]
        if changed:
            plan.changed.append(ImportChange(member, row, changed))
        else:
            plan.unchanged += 1
    return plan


def _check_existing(member: Member, row: ImportRow, bounds: tuple[dt.date | None, dt.date | None]) -> list[str]:
    """Reasons why the row cannot update this member given what is already recorded."""
    first, last_in = bounds
    joined = row.values.get("joined_on", member.joined_on)
    left = row.values.get("left_on", member.left_on)
    reasons = []
    if left is not None and left < joined:
        reasons.append(_("left on %(left)s, before joining on %(joined)s", left=date_vn(left), joined=date_vn(joined)))
    if first is not None and joined > first:
        reasons.append(
            _(
                "the capital ledger of %(code)s starts on %(date)s, before this joining date",
                code=member.code,
                date=date_vn(first),
            )
        )
    if left is not None and last_in is not None and left < last_in:
        reasons.append(
            _(
                "%(code)s contributed capital on %(date)s, after this leaving date",
                code=member.code,
                date=date_vn(last_in),
            )
        )
    return reasons


def import_members(unit: Unit, *, actor: User, data: bytes) -> ImportPlan:
    """Apply an import file to the register, all rows or none; return what was done."""
    _lock_unit(unit)
    plan = plan_import(unit, data)
    if not plan.ok:
        raise MemberImportRejected(plan.errors)
    for row in plan.new:
        values = {
            "category": MemberCategory.OFFICIAL,
            "role": MemberRole.MEMBER,
            **{k: v for k, v in row.values.items()},
        }
        member = Member(unit_id=unit.id, **values)
        db.session.add(member)
        db.session.flush()
        if row.capital_vnd:
            db.session.add(
                CapitalEntry(
                    unit_id=unit.id,
                    member_id=member.id,
                    kind=CapitalEntryKind.CONTRIBUTED,
                    amount_vnd=row.capital_vnd,
                    entry_date=member.joined_on,
                    note=_("Opening contribution (import)"),
                    recorded_by_id=actor.id,
                )
            )
    for change in plan.changed:
        for key in change.fields:
            setattr(change.member, key, change.row.values[key])
        if "left_on" in change.fields and change.member.left_on is None:
            change.member.left_reason = None  # back in the register
    db.session.flush()
    return plan


# ------------------------------------------------------------------ export


def register_row(m: Member, balances: Mapping[int, int]) -> tuple:
    """Return one member's row of the exported register (the columns of `export_headers`)."""
    return (
        m.code,
        m.full_name,
        m.phone or "",
        m.address or "",
        str(CATEGORY_LABELS[m.category]),
        str(ROLE_LABELS[m.role]),
        m.joined_on,
        m.left_on,
        balances.get(m.id, 0),
    )


def export_register(unit: Unit) -> bytes:
    """The register and the capital ledger as an XLSX workbook."""
    members = list(db.session.scalars(select(Member).where(Member.unit_id == unit.id).order_by(Member.code)))
    balances = member_balances(unit)
    headers = export_headers()
    register_rows = (register_row(m, balances) for m in members)
    entries = db.session.execute(
        select(CapitalEntry, Member.code, Member.full_name)
        .join(Member, Member.id == CapitalEntry.member_id)
        .where(CapitalEntry.unit_id == unit.id)
        .order_by(Member.code, CapitalEntry.entry_date, CapitalEntry.id)
    ).all()
    running: dict[int, int] = {}
    ledger_rows = []
    for entry, code, name in entries:
        running[entry.member_id] = running.get(entry.member_id, 0) + entry.signed_amount
        ledger_rows.append(
            (
                code,
                name,
                entry.entry_date,
                str(ENTRY_KIND_LABELS[entry.kind]),
                entry.signed_amount,
                running[entry.member_id],
                entry.note or "",
            )
        )
    ledger_header = [
        headers["code"],
        headers["full_name"],
        _("Date"),
        _("Kind"),
        _("Amount (VND)"),
        _("Balance after (VND)"),
        _("Note"),
    ]
    return write_xlsx(
        {
            "Thành viên": ([headers[c] for c in COLUMNS], register_rows),
            "Vốn góp": (ledger_header, ledger_rows),
        }
    )


def export_filename(unit: Unit, today: dt.date | None = None) -> str:
    """A safe ASCII download name such as thanh-vien-REG-00001-2025-07-01.xlsx."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", fold(unit.registration_code)).strip("-").upper() or str(unit.id)
    return f"thanh-vien-{slug}-{(today or local_today()).isoformat()}.xlsx"
