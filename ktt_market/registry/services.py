"""Registry verbs: register and claim units, decide applications, edit units, manage staff.

Every verb takes the acting user explicitly, flushes and never commits: the request (or command) commits once.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_, select

from ..accounts.models import User
from ..audit import services as audit
from ..core import places
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import local_today
from ..core.models import utcnow
from ..core.text import contains_pattern, fold, nfc
from ..core.validators import normalize_vn_phone
from ..extensions import db
from ..notifications import events as notification_events
from .access import officer_covers, staff_role
from .models import (
    ApplicationKind,
    ApplicationStatus,
    OperatingState,
    PlatformStatus,
    Sector,
    StaffRole,
    Unit,
    UnitApplication,
    UnitKind,
    UnitStaff,
)

# What each kind of editor may change; officers hold the whole registry record.
OFFICER_FIELDS = frozenset(
    {
        "kind",
        "registration_code",
        "name",
        "sector",
        "trade",
        "founded_on",
        "stopped_on",
        "dissolved_on",
        "ward_code",
        "street",
        "declared_members",
        "charter_capital_vnd",
        "contact_name",
        "contact_phone",
        "contact_email",
        "description",
    }
)
OWNER_FIELDS = frozenset({"contact_name", "contact_phone", "contact_email", "street", "description", "trade"})
REGISTER_FIELDS = OFFICER_FIELDS - {"stopped_on", "dissolved_on"}

_MAX_LENGTHS = {
    "registration_code": 40,
    "name": 255,
    "trade": 120,
    "street": 255,
    "contact_name": 120,
    "contact_email": 254,
}


def normalize_code(value: str | None) -> str:
    """Return a registration code as stored: NFC, no surrounding blanks, upper case."""
    return (nfc(value) or "").upper()


def unit_by_code(code: str) -> Unit | None:
    """Return the unit with this registration code, or None."""
    return db.session.scalar(select(Unit).where(Unit.registration_code == normalize_code(code)))


# ---------------------------------------------------------------- field cleaning


def _text(value: Any, field: str) -> str | None:
    text = nfc(str(value)) if value is not None else None
    if not text:
        return None
    limit = _MAX_LENGTHS.get(field)
    if limit and len(text) > limit:
        raise ServiceError(_("At most %(n)d characters.", n=limit), field)
    return text


def _long_text(value: Any) -> str | None:
    # Descriptions keep their line breaks; only the Unicode form and the ends are normalised.
    text = unicodedata.normalize("NFC", str(value)).strip() if value is not None else ""
    return text or None


def _whole(value: Any, field: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServiceError(_("Enter a whole number."), field) from None
    if number < 0:
        raise ServiceError(_("The number cannot be negative."), field)
    return number


def _date(value: Any, field: str, today: dt.date) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise ServiceError(_("Enter a date."), field)
    if value > today:
        raise ServiceError(_("The date cannot be in the future."), field)
    return value


def _enum(enum_cls, value: Any, field: str):
    try:
        return enum_cls(value)
    except ValueError:
        raise ServiceError(_("Choose one of the listed values."), field) from None


def _clean(data: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """Validate and normalise the `fields` present in `data` (unknown keys are ignored)."""
    today = local_today()
    out: dict[str, Any] = {}
    for field in fields & data.keys():
        value = data[field]
        if field == "kind":
            out[field] = _enum(UnitKind, value, field)
        elif field == "sector":
            out[field] = _enum(Sector, value, field)
        elif field == "registration_code":
            code = normalize_code(value)
            if len(code) > _MAX_LENGTHS[field]:
                raise ServiceError(_("At most %(n)d characters.", n=_MAX_LENGTHS[field]), field)
            out[field] = code
        elif field in ("founded_on", "stopped_on", "dissolved_on"):
            out[field] = _date(value, field, today)
        elif field in ("declared_members", "charter_capital_vnd"):
            out[field] = _whole(value, field)
        elif field == "ward_code":
            try:
                out[field] = int(value) if value not in (None, "") else None
            except (TypeError, ValueError):
                raise ServiceError(_("Choose a ward from the list."), field) from None
        elif field == "contact_phone":
            if value:
                phone = normalize_vn_phone(str(value))
                if phone is None:
                    raise ServiceError(_("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84)."), field)
                out[field] = phone
            else:
                out[field] = None
        elif field == "contact_email":
            email = _text(value, field)
            if email and ("@" not in email or " " in email):
                raise ServiceError(_("Enter a valid e-mail address."), field)
            out[field] = email.lower() if email else None
        elif field == "description":
            out[field] = _long_text(value)
        else:
            out[field] = _text(value, field)
    return out


def _require(values: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        if values.get(field) in (None, ""):
            raise ServiceError(_("This field is required."), field)


def _check_dates(founded: dt.date | None, stopped: dt.date | None, dissolved: dt.date | None) -> None:
    if founded is not None and stopped is not None and stopped < founded:
        raise ServiceError(_("A unit cannot stop before it was founded."), "stopped_on")
    if founded is not None and dissolved is not None and dissolved < founded:
        raise ServiceError(_("A unit cannot be dissolved before it was founded."), "dissolved_on")


def _check_code_free(code: str, unit_id: int | None = None) -> None:
    query = select(Unit.id).where(Unit.registration_code == code)
    if unit_id is not None:
        query = query.where(Unit.id != unit_id)
    if db.session.scalar(query) is not None:
        raise ServiceError(_("A unit with this registration code is already in the registry."), "registration_code")


def _province_of_ward(ward_code: int, province_code: int | None) -> int:
    """Return the province of a known ward; refuse unknown wards and wards of another province."""
    ward_province = places.ward_province(ward_code)
    if ward_province is None:
        raise ServiceError(_("Choose a ward from the list."), "ward_code")
    if province_code is not None and ward_province != province_code:
        raise ServiceError(_("This ward is not in the chosen province."), "ward_code")
    return ward_province


# ---------------------------------------------------------------- register and claim


def register_unit(*, actor: User, data: Mapping[str, Any]) -> UnitApplication:
    """Register a new unit on the platform and ask its province to approve it.

    `data` holds the registry fields, optionally `province_code` (the province the ward was chosen from)
    and `message` for the officer.
    """
    values = _clean(data, REGISTER_FIELDS)
    _require(values, ("kind", "registration_code", "name", "sector", "founded_on", "ward_code"))
    province_code = data.get("province_code")
    values["province_code"] = _province_of_ward(
        values["ward_code"], int(province_code) if province_code not in (None, "") else None
    )
    _check_dates(values.get("founded_on"), None, None)
    _check_code_free(values["registration_code"])
    unit = Unit(**values, platform_status=PlatformStatus.PENDING)
    db.session.add(unit)
    db.session.flush()
    application = UnitApplication(
        unit_id=unit.id,
        applicant_id=actor.id,
        kind=ApplicationKind.REGISTER,
        status=ApplicationStatus.PENDING,
        message=_long_text(data.get("message")),
    )
    db.session.add(application)
    db.session.flush()
    return application


def _pending_application(unit_id: int) -> UnitApplication | None:
    return db.session.scalar(
        select(UnitApplication).where(
            UnitApplication.unit_id == unit_id, UnitApplication.status == ApplicationStatus.PENDING
        )
    )


def _has_owner(unit_id: int) -> bool:
    return (
        db.session.scalar(
            select(UnitStaff.id).where(UnitStaff.unit_id == unit_id, UnitStaff.role == StaffRole.OWNER).limit(1)
        )
        is not None
    )


def claim_unit(*, actor: User, registration_code: str, message: str | None = None) -> UnitApplication:
    """Ask to run an existing registry unit, found by its registration code."""
    code = normalize_code(registration_code)
    if not code:
        raise ServiceError(_("This field is required."), "registration_code")
    unit = db.session.scalar(select(Unit).where(Unit.registration_code == code).with_for_update())
    if unit is None:
        raise ServiceError(_("No unit in the registry has this registration code."), "registration_code")
    if _pending_application(unit.id) is not None or unit.platform_status is PlatformStatus.PENDING:
        raise ServiceError(
            _("This unit already has an application waiting for the province's decision."), "registration_code"
        )
    if unit.platform_status is not PlatformStatus.NOT_JOINED or _has_owner(unit.id):
        raise ServiceError(
            _("This unit is already run on the platform. Ask its owner to add you as staff."), "registration_code"
        )
    unit.platform_status = PlatformStatus.PENDING
    application = UnitApplication(
        unit_id=unit.id,
        applicant_id=actor.id,
        kind=ApplicationKind.CLAIM,
        status=ApplicationStatus.PENDING,
        message=_long_text(message),
    )
    db.session.add(application)
    db.session.flush()
    return application


# ---------------------------------------------------------------- decisions


def _check_decidable(application: UnitApplication, actor: User) -> Unit:
    unit = application.unit
    if not officer_covers(actor, unit):
        raise PermissionDenied(_("Only an officer of the unit's province can decide this application."))
    # Two officers deciding at once: the second waits for the first and then sees it decided.
    db.session.refresh(application, with_for_update=True)
    if application.status is not ApplicationStatus.PENDING:
        raise ServiceError(_("This application has already been decided."))
    return unit


def approve_application(application: UnitApplication, *, actor: User) -> UnitApplication:
    """Approve: the unit joins the platform and the applicant becomes its owner."""
    unit = _check_decidable(application, actor)
    before_status = unit.platform_status
    now = utcnow()
    application.status = ApplicationStatus.APPROVED
    application.decided_by_id = actor.id
    application.decided_at = now
    unit.platform_status = PlatformStatus.APPROVED
    unit.approved_at = now
    link = db.session.scalar(
        select(UnitStaff).where(UnitStaff.unit_id == unit.id, UnitStaff.user_id == application.applicant_id)
    )
    if link is None:
        db.session.add(UnitStaff(unit_id=unit.id, user_id=application.applicant_id, role=StaffRole.OWNER))
    else:
        link.role = StaffRole.OWNER
    db.session.flush()
    audit.record(
        "registry.application.approve",
        actor=actor,
        obj=application,
        province_code=unit.province_code,
        summary=f"Approved the {application.kind.value} application of {unit.name} ({unit.registration_code})",
        before={"status": ApplicationStatus.PENDING, "platform_status": before_status},
        after={"status": application.status, "platform_status": unit.platform_status},
    )
    notification_events.application_decided(application)
    return application


def reject_application(application: UnitApplication, *, actor: User, reason: str) -> UnitApplication:
    """Reject with a reason the applicant will read; a rejected claim frees the unit again."""
    unit = _check_decidable(application, actor)
    reason_text = _long_text(reason)
    if not reason_text:
        raise ServiceError(_("Give the applicant a reason."), "reason")
    before_status = unit.platform_status
    application.status = ApplicationStatus.REJECTED
    application.decision_reason = reason_text
    application.decided_by_id = actor.id
    application.decided_at = utcnow()
    if application.kind is ApplicationKind.REGISTER:
        unit.platform_status = PlatformStatus.REJECTED
    else:
        unit.platform_status = PlatformStatus.NOT_JOINED
    db.session.flush()
    audit.record(
        "registry.application.reject",
        actor=actor,
        obj=application,
        province_code=unit.province_code,
        summary=f"Rejected the {application.kind.value} application of {unit.name} ({unit.registration_code})",
        before={"status": ApplicationStatus.PENDING, "platform_status": before_status},
        after={"status": application.status, "platform_status": unit.platform_status, "reason": reason_text},
    )
    notification_events.application_decided(application)
    return application


# ---------------------------------------------------------------- editing


def editable_fields(unit: Unit, actor: User) -> frozenset[str]:
    """Return the fields `actor` may change on `unit` (empty when none)."""
    if officer_covers(actor, unit):
        return OFFICER_FIELDS
    if staff_role(actor, unit.id) is StaffRole.OWNER:
        return OWNER_FIELDS
    return frozenset()


def update_unit(unit: Unit, *, actor: User, data: Mapping[str, Any]) -> Unit:
    """Change a unit: officers every registry field, owners their contact details and description."""
    allowed = editable_fields(unit, actor)
    if not allowed:
        raise PermissionDenied(_("You may not edit this unit."))
    refused = set(data.keys()) - allowed - {"province_code"}
    if refused:
        raise PermissionDenied(_("You may not change these fields: %(fields)s.", fields=", ".join(sorted(refused))))
    values = _clean(data, allowed)
    _require(values, tuple(f for f in ("kind", "registration_code", "name", "sector", "ward_code") if f in values))
    if "registration_code" in values and values["registration_code"] != unit.registration_code:
        _check_code_free(values["registration_code"], unit.id)
    if "ward_code" in values:
        province_code = data.get("province_code")
        province = _province_of_ward(
            values["ward_code"], int(province_code) if province_code not in (None, "") else None
        )
        if actor.is_officer and province != actor.province_code:
            raise ServiceError(_("The ward must be in your province."), "ward_code")
        values["province_code"] = province
    _check_dates(
        values.get("founded_on", unit.founded_on),
        values.get("stopped_on", unit.stopped_on),
        values.get("dissolved_on", unit.dissolved_on),
    )
    old_province = unit.province_code
    before = audit.snapshot(unit, values.keys())
    for field, value in values.items():
        setattr(unit, field, value)
    db.session.flush()
    if audit.is_official(actor):
        changed_before, changed_after = audit.changes(before, audit.snapshot(unit, values.keys()))
        if changed_after or changed_before:
            audit.record(
                "registry.unit.update",
                actor=actor,
                obj=unit,
                summary=f"Edited {unit.name} ({unit.registration_code}): {', '.join(sorted(changed_after))}",
                before=changed_before,
                after=changed_after,
            )
            if old_province != unit.province_code:
                # The province it left keeps a trace too.
                audit.record(
                    "registry.unit.update",
                    actor=actor,
                    obj=unit,
                    province_code=old_province,
                    summary=f"Moved {unit.name} ({unit.registration_code}) to another province",
                    before=changed_before,
                    after=changed_after,
                )
    return unit


# ---------------------------------------------------------------- staff


def _require_owner(unit: Unit, actor: User) -> None:
    if staff_role(actor, unit.id) is not StaffRole.OWNER:
        raise PermissionDenied(_("Only the unit's owner can manage its staff."))


def add_staff(unit: Unit, *, actor: User, email: str, role: StaffRole | str = StaffRole.STAFF) -> UnitStaff:
    """Add an existing user, found by e-mail, to the unit's staff."""
    from ..accounts.services import find_by_email

    _require_owner(unit, actor)
    role = _enum(StaffRole, role, "role")
    user = find_by_email(email or "")
    if user is None or not user.is_active:
        raise ServiceError(_("No account uses this e-mail. Ask the person to register first."), "email")
    if staff_role(user, unit.id) is not None:
        raise ServiceError(_("This person is already on the staff."), "email")
    link = UnitStaff(unit_id=unit.id, user_id=user.id, role=role)
    db.session.add(link)
    db.session.flush()
    return link


def remove_staff(unit: Unit, *, actor: User, user_id: int) -> None:
    """Remove a person from the unit's staff; the last owner stays."""
    _require_owner(unit, actor)
    link = db.session.scalar(select(UnitStaff).where(UnitStaff.unit_id == unit.id, UnitStaff.user_id == user_id))
    if link is None:
        raise ServiceError(_("This person is not on the staff."))
    if link.role is StaffRole.OWNER:
        owners = db.session.scalar(
            select(func.count()).where(UnitStaff.unit_id == unit.id, UnitStaff.role == StaffRole.OWNER)
        )
        if owners <= 1:
            raise ServiceError(_("A unit needs at least one owner."))
    db.session.delete(link)
    db.session.flush()


def staff_of(unit: Unit) -> list[UnitStaff]:
    """Return the unit's staff, owners first."""
    return list(
        db.session.scalars(
            select(UnitStaff)
            .where(UnitStaff.unit_id == unit.id)
            .join(User, User.id == UnitStaff.user_id)
            .order_by(UnitStaff.role, User.full_name)
        )
    )


# ---------------------------------------------------------------- reading


def _member_services():
    """Return the members area's services module, or None while that area does not provide one."""
    try:
        from ..members import services as member_services
    except ModuleNotFoundError as exc:
        if exc.name != "ktt_market.members.services":
            raise
        return None
    return member_services


def members_shown(unit: Unit) -> int:
    """Return the unit's member count: the members area's when it provides one, else the declared count."""
    count = getattr(_member_services(), "member_count", None)
    return count(unit) if callable(count) else unit.declared_members


def members_shown_many(units: list[Unit]) -> dict[int, int]:
    """Return `members_shown` for many units, in one query when the members area can."""
    many = getattr(_member_services(), "active_member_counts", None)
    if callable(many):
        counts = many([u.id for u in units])
        # The members area answers for units with a register; the others keep their declared count.
        return {u.id: counts.get(u.id, u.declared_members) for u in units}
    return {u.id: members_shown(u) for u in units}


def applications_of_unit(unit: Unit) -> list[UnitApplication]:
    """Return the unit's applications, newest first."""
    return list(
        db.session.scalars(
            select(UnitApplication)
            .where(UnitApplication.unit_id == unit.id)
            .order_by(UnitApplication.created_at.desc(), UnitApplication.id.desc())
        )
    )


def has_units_or_applications(user: User) -> bool:
    """Whether `user` works for a unit on the platform or has applied to (one query)."""
    staff = exists().where(UnitStaff.user_id == user.id)
    applied = exists().where(UnitApplication.applicant_id == user.id)
    return bool(db.session.scalar(select(or_(staff, applied))))


def applications_by(user: User) -> list[UnitApplication]:
    """Return the applications `user` made, newest first."""
    return list(
        db.session.scalars(
            select(UnitApplication)
            .where(UnitApplication.applicant_id == user.id)
            .order_by(UnitApplication.created_at.desc(), UnitApplication.id.desc())
        )
    )


def application_queue(province_code: int | None, status: ApplicationStatus | None = None) -> Select:
    """Select the applications of one province (None: all), pending first, oldest pending first."""
    query = select(UnitApplication).join(Unit, Unit.id == UnitApplication.unit_id)
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    if status is not None:
        query = query.where(UnitApplication.status == status)
    pending_first = (UnitApplication.status == ApplicationStatus.PENDING).desc()
    return query.order_by(pending_first, UnitApplication.created_at, UnitApplication.id)


def state_condition(state: OperatingState, today: dt.date):
    """Return a SQL condition matching units in `state` on `today` (mirrors Unit.state_on)."""
    dissolved = and_(Unit.dissolved_on.is_not(None), Unit.dissolved_on <= today)
    stopped = and_(Unit.stopped_on.is_not(None), Unit.stopped_on <= today)
    founded = and_(Unit.founded_on.is_not(None), Unit.founded_on <= today)
    if state is OperatingState.DISSOLVED:
        return and_(founded, dissolved)
    if state is OperatingState.STOPPED:
        return and_(founded, ~dissolved, stopped)
    if state is OperatingState.ACTIVE:
        return and_(founded, ~dissolved, ~stopped)
    return ~founded


def unit_search(
    *,
    province_code: int | None,
    kind: UnitKind | None = None,
    sector: Sector | None = None,
    ward_code: int | None = None,
    platform_status: PlatformStatus | None = None,
    state: OperatingState | None = None,
    text: str | None = None,
    today: dt.date | None = None,
) -> Select:
    """Select units matching the registry filters, by name."""
    query = select(Unit)
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    if sector is not None:
        query = query.where(Unit.sector == sector)
    if ward_code is not None:
        query = query.where(Unit.ward_code == ward_code)
    if platform_status is not None:
        query = query.where(Unit.platform_status == platform_status)
    if state is not None:
        query = query.where(state_condition(state, today or local_today()))
    text = nfc(text)
    if text:
        # With or without diacritics: "nuoi tom" and "Nuôi Tôm" both find "HTX Nuôi tôm".
        name, code = (contains_pattern(fold(text)), contains_pattern(text))
        query = query.where(
            or_(Unit.name_folded.like(name, escape="\\"), Unit.registration_code.ilike(code, escape="\\"))
        )
    return query.order_by(Unit.name, Unit.id)
