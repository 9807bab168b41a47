"""Support programs: the officer's and the cooperative's verbs, the notices owed, and each program's reach.

Services flush and never commit. Views commit, then hand notices to the workers (tasks.py).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..accounts.models import Role, User
from ..audit import services as audit
from ..classification.models import Assessment, Grade
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import local_today, local_year_bounds
from ..core.models import utcnow
from ..core.text import nfc
from ..extensions import db
from ..orders.models import Order, OrderStatus
from ..registry.models import StaffRole, Unit, UnitStaff
from .eligibility import COUNTED_ASSESSMENTS, Rules, eligible_units, is_eligible, reachable
from .models import (
    ApplicationDocument,
    ApplicationStatus,
    Disbursement,
    FundingSource,
    ProgramApplication,
    ProgramKind,
    ProgramStatus,
    SupportProgram,
)

DEFAULT_MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DOCUMENTS = 5
REMINDER_DAYS = 3
# Orders that did not become sales: excluded from a participant's online sales.
NOT_SALES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.PENDING_PAYMENT)

# Content, not the name, decides what a file is: its first bytes.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


# ---------------------------------------------------------------- programs

PROGRAM_FIELDS = (
    "title",
    "kind",
    "description",
    "budget_vnd",
    "funding_source",
    "year",
    "opens_on",
    "closes_on",
    "eligibility",
    "status",
)
APPLICATION_FIELDS = ("status", "decision_reason", "outcome")


def _officer_of(actor: User, province_code: int) -> None:
    if actor.role is Role.ADMIN:
        return
    if actor.role is not Role.OFFICER or actor.province_code != province_code:
        raise PermissionDenied(_("Only officers of the province may manage its programs."))


def _check_program_fields(fields: dict[str, Any]) -> None:
    if fields["budget_vnd"] is None or fields["budget_vnd"] < 0:
        raise ServiceError(_("Enter the budget in đồng (0 or more)."), field="budget_vnd")
    if fields["closes_on"] < fields["opens_on"]:
        raise ServiceError(_("The closing date cannot be before the opening date."), field="closes_on")
    if not fields["title"]:
        raise ServiceError(_("Enter a title."), field="title")


def _program_fields(
    *,
    kind: ProgramKind,
    title: str,
    description: str | None,
    budget_vnd: int,
    funding_source: FundingSource,
    year: int,
    opens_on: dt.date,
    closes_on: dt.date,
    rules: Rules,
) -> dict[str, Any]:
    fields = {
        "kind": ProgramKind(kind),
        "title": nfc(title) or "",
        "description": nfc(description) or None,
        "budget_vnd": budget_vnd,
        "funding_source": FundingSource(funding_source),
        "year": year,
        "opens_on": opens_on,
        "closes_on": closes_on,
        "eligibility": rules.to_json(),
    }
    _check_program_fields(fields)
    return fields


def create_program(*, actor: User, province_code: int, **values: Any) -> SupportProgram:
    """Create a draft program of `province_code`; nobody is told until it opens."""
    _officer_of(actor, province_code)
    program = SupportProgram(
        province_code=province_code,
        status=ProgramStatus.DRAFT,
        created_by_id=actor.id,
        **_program_fields(**values),
    )
    db.session.add(program)
    db.session.flush()
    audit.record(
        "programs.program.create",
        actor=actor,
        obj=program,
        summary=f"Created the support program {program.title}",
        after=audit.snapshot(program, PROGRAM_FIELDS),
    )
    return program


def update_program(program: SupportProgram, *, actor: User, **values: Any) -> SupportProgram:
    """Change a draft program (an open one was announced as it stands)."""
    _officer_of(actor, program.province_code)
    if program.status is not ProgramStatus.DRAFT:
        raise ServiceError(_("Only a draft program can be edited."))
    before = audit.snapshot(program, PROGRAM_FIELDS)
    for name, value in _program_fields(**values).items():
        setattr(program, name, value)
    db.session.flush()
    old, new = audit.changes(before, audit.snapshot(program, PROGRAM_FIELDS))
    audit.record(
        "programs.program.update",
        actor=actor,
        obj=program,
        summary=f"Edited the support program {program.title}",
        before=old,
        after=new,
    )
    return program


def open_program(program: SupportProgram, *, actor: User) -> SupportProgram:
    """Publish a draft program; the caller commits, then queues `programs.notify_eligible`."""
    _officer_of(actor, program.province_code)
    if program.status is not ProgramStatus.DRAFT:
        raise ServiceError(_("Only a draft program can be opened."))
    if program.closes_on < local_today():
        raise ServiceError(_("The application window has already ended: change the dates first."))
    program.status = ProgramStatus.OPEN
    program.opened_at = utcnow()
    db.session.flush()
    audit.record(
        "programs.program.open",
        actor=actor,
        obj=program,
        summary=f"Opened the support program {program.title}",
        before={"status": ProgramStatus.DRAFT},
        after={"status": program.status, "opened_at": program.opened_at},
    )
    return program


def close_program(program: SupportProgram, *, actor: User) -> SupportProgram:
    """Close an open program: no more applications; decisions and outcomes may still be recorded."""
    _officer_of(actor, program.province_code)
    if program.status is not ProgramStatus.OPEN:
        raise ServiceError(_("Only an open program can be closed."))
    program.status = ProgramStatus.CLOSED
    db.session.flush()
    audit.record(
        "programs.program.close",
        actor=actor,
        obj=program,
        summary=f"Closed the support program {program.title}",
        before={"status": ProgramStatus.OPEN},
        after={"status": program.status},
    )
    return program


def programs_of(province_code: int | None, *, year: int | None = None) -> list[SupportProgram]:
    """Return the programs of a province (every province for None), newest first."""
    query = select(SupportProgram)
    if province_code is not None:
        query = query.where(SupportProgram.province_code == province_code)
    if year is not None:
        query = query.where(SupportProgram.year == year)
    return list(db.session.scalars(query.order_by(SupportProgram.year.desc(), SupportProgram.id.desc())))


# ---------------------------------------------------------------- notices (run by the workers)


def _staff_users(unit_ids: list[int]) -> dict[int, list[User]]:
    out: dict[int, list[User]] = {uid: [] for uid in unit_ids}
    if not unit_ids:
        return out
    rows = db.session.execute(
        select(UnitStaff.unit_id, User)
        .join(User, User.id == UnitStaff.user_id)
        .where(UnitStaff.unit_id.in_(unit_ids), UnitStaff.role.in_((StaffRole.OWNER, StaffRole.STAFF)))
        .order_by(UnitStaff.unit_id, User.id)
    )
    for unit_id, user in rows:
        out[unit_id].append(user)
    return out


def notify_eligible(program: SupportProgram) -> int:
    """Owe each reachable eligible unit's staff the news of an open program; return messages added.

    Idempotent: the outbox key is per program, unit and user, so a second run adds nothing.
    """
    from ..notifications.events import program_opened

    if program.status is not ProgramStatus.OPEN:
        return 0
    units = [u for u in eligible_units(program) if reachable(u)]
    staff = _staff_users([u.id for u in units])
    added = 0
    for unit in units:
        for user in staff[unit.id]:
            added += len(program_opened(program, unit, user))
    return added


def open_programs_in_window(day: dt.date | None = None) -> list[SupportProgram]:
    """Return the open programs whose window has not ended."""
    day = day or local_today()
    return list(
        db.session.scalars(
            select(SupportProgram)
            .where(SupportProgram.status == ProgramStatus.OPEN, SupportProgram.closes_on >= day)
            .order_by(SupportProgram.id)
        )
    )


def deadline_reminders(day: dt.date | None = None) -> int:
    """Remind eligible units that have not applied, from 3 days before a program closes; return messages added.

    Sent on the first daily run inside those 3 days (a missed run is made up the next day); the outbox key
    makes it once per program, unit and user.
    """
    from ..notifications.events import program_deadline

    day = day or local_today()
    programs = db.session.scalars(
        select(SupportProgram).where(
            SupportProgram.status == ProgramStatus.OPEN,
            SupportProgram.closes_on >= day,
            SupportProgram.closes_on <= day + dt.timedelta(days=REMINDER_DAYS),
            SupportProgram.opens_on <= day,
        )
    ).all()
    added = 0
    for program in programs:
        applied = set(
            db.session.scalars(select(ProgramApplication.unit_id).where(ProgramApplication.program_id == program.id))
        )
        units = [u for u in eligible_units(program, day) if reachable(u) and u.id not in applied]
        staff = _staff_users([u.id for u in units])
        for unit in units:
            for user in staff[unit.id]:
                added += len(program_deadline(program, unit, user))
    return added


# ---------------------------------------------------------------- documents


@dataclass(frozen=True)
class Upload:
    """A file as received: its name and bytes."""

    filename: str
    data: bytes


def max_document_bytes() -> int:
    return int(current_app.config.get("PROGRAM_DOCUMENT_MAX_BYTES", DEFAULT_MAX_DOCUMENT_BYTES))


def check_document(upload: Upload) -> tuple[str, str]:
    """Return (content type, extension) of a PDF, JPEG or PNG judged by its content; refuse anything else."""
    if not upload.data:
        raise ServiceError(_("%(name)s is empty.", name=upload.filename), field="documents")
    if len(upload.data) > max_document_bytes():
        raise ServiceError(
            _(
                "%(name)s is larger than %(mb)s MB.",
                name=upload.filename,
                mb=max_document_bytes() // (1024 * 1024),
            ),
            field="documents",
        )
    for magic, content_type, ext in _SIGNATURES:
        if upload.data.startswith(magic):
            return content_type, ext
    raise ServiceError(
        _("%(name)s is not a PDF, JPEG or PNG file.", name=upload.filename),
        field="documents",
    )


def _documents_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "programs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _store(data: bytes, ext: str) -> str:
    key = f"{secrets.token_hex(16)}.{ext}"
    folder = _documents_folder()
    # Write then rename: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / key)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return key


def document_bytes(document: ApplicationDocument) -> bytes:
    """Return the stored bytes of a document (FileNotFoundError when gone)."""
    key = document.storage_key
    if "/" in key or "\\" in key or key.startswith("."):
        raise FileNotFoundError(key)
    return (_documents_folder() / key).read_bytes()


def _attach(application: ProgramApplication, uploads: list[Upload], actor: User) -> None:
    checked = [(upload, *check_document(upload)) for upload in uploads]  # all checked before any is kept
    for upload, content_type, ext in checked:
        name = (nfc(Path(upload.filename.replace("\\", "/")).name) or f"document.{ext}")[:200]
        document = ApplicationDocument(
            storage_key=_store(upload.data, ext),
            filename=name,
            content_type=content_type,
            size_bytes=len(upload.data),
            uploaded_by_id=actor.id,
        )
        application.documents.append(document)


# ---------------------------------------------------------------- applications


def _staff_of(actor: User, unit: Unit) -> None:
    exists = db.session.scalar(select(UnitStaff.id).where(UnitStaff.unit_id == unit.id, UnitStaff.user_id == actor.id))
    if exists is None:
        raise PermissionDenied(_("Only the cooperative's staff may do this."))


def open_programs_for(unit: Unit, day: dt.date | None = None) -> list[SupportProgram]:
    """Return the open programs of the unit's province that `unit` is eligible for, closing soonest first."""
    day = day or local_today()
    programs = db.session.scalars(
        select(SupportProgram)
        .where(
            SupportProgram.province_code == unit.province_code,
            SupportProgram.status == ProgramStatus.OPEN,
            SupportProgram.closes_on >= day,
        )
        .order_by(SupportProgram.closes_on, SupportProgram.id)
    )
    return [p for p in programs if is_eligible(p, unit, day)]


def applications_of_unit(unit: Unit) -> list[ProgramApplication]:
    """Return the unit's applications, newest first."""
    return list(
        db.session.scalars(
            select(ProgramApplication)
            .where(ProgramApplication.unit_id == unit.id)
            .order_by(ProgramApplication.created_at.desc(), ProgramApplication.id.desc())
        )
    )


def apply(
    program: SupportProgram,
    unit: Unit,
    *,
    actor: User,
    message: str | None,
    documents: list[Upload],
    day: dt.date | None = None,
) -> ProgramApplication:
    """Apply for `program` on behalf of `unit`, with a message and documents, inside the window."""
    _staff_of(actor, unit)
    day = day or local_today()
    if program.status is not ProgramStatus.OPEN or program.province_code != unit.province_code:
        raise ServiceError(_("This program is not open for applications."))
    if day < program.opens_on:
        raise ServiceError(_("Applications open on %(day)s.", day=program.opens_on.strftime("%d/%m/%Y")))
    if day > program.closes_on:
        raise ServiceError(_("Applications closed on %(day)s.", day=program.closes_on.strftime("%d/%m/%Y")))
    if not is_eligible(program, unit, day):
        raise ServiceError(_("%(unit)s is not eligible for this program.", unit=unit.name))
    if len(documents) > MAX_DOCUMENTS:
        raise ServiceError(_("Attach at most %(n)s documents.", n=MAX_DOCUMENTS), field="documents")
    existing = db.session.scalar(
        select(ProgramApplication).where(
            ProgramApplication.program_id == program.id, ProgramApplication.unit_id == unit.id
        )
    )
    if existing is not None and existing.status is not ApplicationStatus.WITHDRAWN:
        raise ServiceError(_("%(unit)s has already applied for this program.", unit=unit.name))
    for upload in documents:
        check_document(upload)
    if existing is not None:
        # A withdrawn application may be sent again: the same row, its old files replaced.
        application = existing
        application.documents.clear()
        application.status = ApplicationStatus.SUBMITTED
    else:
        application = ProgramApplication(program=program, unit_id=unit.id, status=ApplicationStatus.SUBMITTED)
        db.session.add(application)
    application.message = nfc(message) or None
    application.submitted_by_id = actor.id
    _attach(application, documents, actor)
    db.session.flush()
    return application


def withdraw(application: ProgramApplication, *, actor: User) -> ProgramApplication:
    """Withdraw an application the province has not decided yet."""
    _staff_of(actor, application.unit)
    if application.status is not ApplicationStatus.SUBMITTED:
        raise ServiceError(_("Only an application waiting for a decision can be withdrawn."))
    application.status = ApplicationStatus.WITHDRAWN
    db.session.flush()
    return application


def decide(application: ProgramApplication, *, actor: User, approve: bool, reason: str | None) -> ProgramApplication:
    """Approve or reject an application (a rejection needs its reason)."""
    _officer_of(actor, application.program.province_code)
    if application.status is not ApplicationStatus.SUBMITTED:
        raise ServiceError(_("This application was already decided or withdrawn."))
    reason = nfc(reason) or None
    if not approve and not reason:
        raise ServiceError(_("Give the reason for the rejection."), field="reason")
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.decision_reason = reason
    application.decided_by_id = actor.id
    application.decided_at = utcnow()
    db.session.flush()
    audit.record(
        f"programs.application.{'approve' if approve else 'reject'}",
        actor=actor,
        obj=application,
        summary=f"{'Approved' if approve else 'Rejected'} the application of unit {application.unit_id} "
        f"to program {application.program_id}",
        before={"status": ApplicationStatus.SUBMITTED},
        after={"status": application.status, "decision_reason": reason},
        province_code=application.program.province_code,
    )
    return application


def disbursed_total(program: SupportProgram) -> int:
    """Return what was paid out under `program` so far, in đồng."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Disbursement.amount_vnd), 0))
        .join(ProgramApplication, ProgramApplication.id == Disbursement.application_id)
        .where(ProgramApplication.program_id == program.id)
    )
    return int(total or 0)


def record_disbursement(
    application: ProgramApplication, *, actor: User, amount_vnd: int | None, disbursed_on: dt.date, note: str | None
) -> Disbursement:
    """Record money paid to an approved applicant; the program's total may not exceed its budget."""
    program = application.program
    _officer_of(actor, program.province_code)
    if application.status is not ApplicationStatus.APPROVED:
        raise ServiceError(_("Money can only be disbursed to an approved application."))
    if amount_vnd is None or amount_vnd <= 0:
        raise ServiceError(_("Enter an amount greater than 0."), field="amount_vnd")
    if disbursed_on > local_today():
        raise ServiceError(_("The date cannot be in the future."), field="disbursed_on")
    # Lock the program row so two officers recording at once cannot both pass the budget check.
    db.session.execute(select(SupportProgram.id).where(SupportProgram.id == program.id).with_for_update())
    already = disbursed_total(program)
    if already + amount_vnd > program.budget_vnd:
        from ..core.i18n import vnd

        raise ServiceError(
            _(
                "This would exceed the budget: %(budget)s budgeted, %(done)s already disbursed, %(left)s left.",
                budget=vnd(program.budget_vnd),
                done=vnd(already),
                left=vnd(program.budget_vnd - already),
            ),
            field="amount_vnd",
        )
    disbursement = Disbursement(
        application_id=application.id,
        amount_vnd=amount_vnd,
        disbursed_on=disbursed_on,
        note=nfc(note) or None,
        recorded_by_id=actor.id,
    )
    db.session.add(disbursement)
    db.session.flush()
    audit.record(
        "programs.disbursement.create",
        actor=actor,
        obj=disbursement,
        summary=f"Recorded a disbursement of {amount_vnd} đồng to unit {application.unit_id} "
        f"under program {program.id}",
        after=audit.snapshot(disbursement, ("application_id", "amount_vnd", "disbursed_on", "note")),
        province_code=program.province_code,
    )
    return disbursement


def record_outcome(application: ProgramApplication, *, actor: User, outcome: str | None) -> ProgramApplication:
    """Record what an approved application achieved."""
    _officer_of(actor, application.program.province_code)
    if application.status is not ApplicationStatus.APPROVED:
        raise ServiceError(_("Outcomes are recorded for approved applications."))
    before = application.outcome
    application.outcome = nfc(outcome) or None
    db.session.flush()
    audit.record(
        "programs.application.outcome",
        actor=actor,
        obj=application,
        summary=f"Recorded the outcome of unit {application.unit_id} under program {application.program_id}",
        before={"outcome": before},
        after={"outcome": application.outcome},
        province_code=application.program.province_code,
    )
    return application


# ---------------------------------------------------------------- reach


GRADE_ORDER = {Grade.WEAK: 0, Grade.AVERAGE: 1, Grade.FAIR: 2, Grade.GOOD: 3}


def _grades(unit_ids: list[int], year: int) -> dict[int, Grade]:
    if not unit_ids:
        return {}
    rows = db.session.execute(
        select(Assessment.unit_id, Assessment.grade).where(
            Assessment.unit_id.in_(unit_ids),
            Assessment.year == year,
            Assessment.status.in_(COUNTED_ASSESSMENTS),
            Assessment.grade.is_not(None),
        )
    )
    return {uid: grade for uid, grade in rows}


def _sales(unit_ids: list[int], year: int) -> int:
    if not unit_ids:
        return 0
    # placed_at is stored in UTC; the year is Vietnam's (a sale at 01:00 on 1 January counts in the new year).
    start, end = local_year_bounds(year)
    total = db.session.scalar(
        select(func.coalesce(func.sum(Order.subtotal_vnd), 0)).where(
            Order.unit_id.in_(unit_ids),
            Order.status.not_in(NOT_SALES),
            Order.placed_at >= start,
            Order.placed_at < end,
        )
    )
    return int(total or 0)


def program_reach(program: SupportProgram, day: dt.date | None = None) -> dict[str, Any]:
    """Return a program's reach: eligible, applicants, beneficiaries, budget used, grade and sales movement.

    Grades and sales compare the year before the program with the year after it, for the beneficiaries
    (approved applications).
    """
    eligible = eligible_units(program, day)
    applications = list(
        db.session.scalars(select(ProgramApplication).where(ProgramApplication.program_id == program.id))
    )
    applicants = [a for a in applications if a.status is not ApplicationStatus.WITHDRAWN]
    approved = [a.unit_id for a in applications if a.status is ApplicationStatus.APPROVED]
    disbursed = disbursed_total(program)
    before_year, after_year = program.year - 1, program.year + 1
    before, after = _grades(approved, before_year), _grades(approved, after_year)
    up = down = same = 0
    for uid in approved:
        if uid in before and uid in after:
            delta = GRADE_ORDER[after[uid]] - GRADE_ORDER[before[uid]]
            up += delta > 0
            down += delta < 0
            same += delta == 0
    budget = program.budget_vnd
    return {
        "program_id": program.id,
        "eligible": len(eligible),
        "eligible_reachable": sum(1 for u in eligible if reachable(u)),
        "eligible_unreachable": sum(1 for u in eligible if not reachable(u)),
        "applicants": len(applicants),
        "approved": len(approved),
        "rejected": sum(1 for a in applications if a.status is ApplicationStatus.REJECTED),
        "budget_vnd": budget,
        "disbursed_vnd": disbursed,
        "disbursed_pct": round(disbursed * 100 / budget, 1) if budget else None,
        "year_before": before_year,
        "year_after": after_year,
        "grades_before": {str(g): sum(1 for v in before.values() if v is g) for g in Grade},
        "grades_after": {str(g): sum(1 for v in after.values() if v is g) for g in Grade},
        "grade_up": up,
        "grade_down": down,
        "grade_same": same,
        "sales_before_vnd": _sales(approved, before_year),
        "sales_after_vnd": _sales(approved, after_year),
    }


def programs_summary(province_code: int | None, year: int) -> dict[str, Any]:
    """Return the programs of a province (None: all) in `year`, each with its reach, and their totals."""
    programs = [p for p in programs_of(province_code, year=year) if p.status is not ProgramStatus.DRAFT]
    rows = [
        {"id": p.id, "title": p.title, "kind": str(p.kind), "status": str(p.status), **program_reach(p)}
        for p in programs
    ]
    budget = sum(r["budget_vnd"] for r in rows)
    disbursed = sum(r["disbursed_vnd"] for r in rows)
    return {
        "province_code": province_code,
        "year": year,
        "programs": rows,
        "count": len(rows),
        "budget_vnd": budget,
        "disbursed_vnd": disbursed,
        "disbursed_pct": round(disbursed * 100 / budget, 1) if budget else None,
        "applicants": sum(r["applicants"] for r in rows),
        "beneficiaries": len(
            set(
                db.session.scalars(
                    select(ProgramApplication.unit_id).where(
                        ProgramApplication.program_id.in_([p.id for p in programs]),
                        ProgramApplication.status == ApplicationStatus.APPROVED,
                    )
                )
            )
        )
        if programs
        else 0,
    }
