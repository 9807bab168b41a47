"""Export verbs: ask for an export, claim it for a worker, record its progress, and clean up.

Requesting only writes a queued job (the view commits, then queues the task). A worker claims the job
with one conditional UPDATE, so of two copies of the same task only one builds the file; a job whose
worker died is claimed again once its `started_at` is older than the run timeout. Every write a worker
makes afterwards names the `started_at` it claimed with: a worker that was overtaken stops quietly.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from ..accounts.models import User
from ..audit import services as audit
from ..core.errors import PermissionDenied, ServiceError
from ..core.models import utcnow
from ..extensions import db
from ..registry.models import Unit
from .exporters import exporter_for
from .models import ExportJob, ExportStatus

log = logging.getLogger(__name__)

S = ExportStatus
# What the server names export files: the job id and a random part. Anything else is not ours.
KEY_PATTERN = re.compile(r"^\d+-[0-9a-f]{16}\.xlsx$")


def _cfg(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def keep_for() -> dt.timedelta:
    """Return how long a finished export stays downloadable (EXPORT_KEEP_HOURS, default 24)."""
    return dt.timedelta(hours=_cfg("EXPORT_KEEP_HOURS", 24))


def run_timeout() -> dt.timedelta:
    """Return how long a claimed job may run before its worker counts as dead."""
    return dt.timedelta(seconds=_cfg("EXPORT_RUN_TIMEOUT_SECONDS", 1800))


def max_attempts() -> int:
    return int(_cfg("EXPORT_MAX_ATTEMPTS", 3))


# ---------------------------------------------------------------- files


def export_folder() -> Path:
    """Return the folder export files live in: under the instance folder, never under static."""
    configured = current_app.config.get("EXPORT_FOLDER")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_storage_key(job_id: int) -> str:
    """Return a fresh file name for a job's export (unguessable, so never reused)."""
    return f"{job_id}-{secrets.token_hex(8)}.xlsx"


def file_path(storage_key: str) -> Path:
    """Return the path of a stored export; refuse names the server did not choose."""
    if not KEY_PATTERN.match(storage_key):
        raise ValueError(f"not an export key: {storage_key!r}")
    return export_folder() / storage_key


# ---------------------------------------------------------------- requesting


def _same_request(job: ExportJob, kind: str, params: Mapping[str, Any]) -> bool:
    return job.kind == kind and dict(job.params or {}) == dict(params)


def request_export(kind: str, params: Mapping[str, Any], *, actor: User) -> ExportJob:
    """Queue an export of `kind` for `actor`; the same export still in progress is returned, not doubled.

    Raises PermissionDenied when `actor` may not have this data, ServiceError on bad parameters.
    """
    exporter = exporter_for(kind)
    cleaned = exporter.clean(params, actor)
    if not exporter.allowed(actor, cleaned):
        raise PermissionDenied(_("You may not export this."))
    active = list(
        db.session.scalars(
            select(ExportJob).where(ExportJob.user_id == actor.id, ExportJob.status.in_([S.QUEUED, S.RUNNING]))
        )
    )
    for job in active:
        if _same_request(job, kind, cleaned):
            return job  # a second click on the same button
    limit = int(_cfg("EXPORT_MAX_ACTIVE", 5))
    if len(active) >= limit:
        raise ServiceError(
            _("You already have %(n)d exports in progress. Wait until one is ready and try again.", n=limit)
        )
    now = utcnow()
    job = ExportJob(
        user_id=actor.id,
        kind=kind,
        params=cleaned,
        status=S.QUEUED,
        progress=0,
        total=0,
        attempts=0,
        created_at=now,
        expires_at=now + keep_for(),
    )
    db.session.add(job)
    db.session.flush()
    if audit.is_official(actor):
        province = cleaned.get("province")
        if "unit_id" in cleaned:
            unit = db.session.get(Unit, cleaned["unit_id"])
            province = unit.province_code if unit is not None else None
        audit.record(
            "exports.request",
            actor=actor,
            obj=job,
            province_code=province,
            summary=f"Requested the {kind} export",
            after={"export": kind, "filters": cleaned},
        )
    return job


def jobs_of(user: User, limit: int = 50) -> list[ExportJob]:
    """Return `user`'s recent exports, newest first."""
    return list(
        db.session.scalars(
            select(ExportJob)
            .where(ExportJob.user_id == user.id)
            .order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- running (called by the worker)


def _claimable(now: dt.datetime):
    return or_(
        ExportJob.status == S.QUEUED,
        (ExportJob.status == S.RUNNING) & (ExportJob.started_at < now - run_timeout()),
    )


def claim(job_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Take a queued (or abandoned) job for this worker and commit; return the claim's `started_at`.

    None when another worker has it, it is finished, or it has used up its attempts.
    """
    now = now or utcnow()
    result = db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, _claimable(now), ExportJob.attempts < max_attempts())
        .values(status=S.RUNNING, started_at=now, attempts=ExportJob.attempts + 1, progress=0, error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return now if result.rowcount == 1 else None


def _mine(job_id: int, started_at: dt.datetime):
    return (ExportJob.id == job_id) & (ExportJob.status == S.RUNNING) & (ExportJob.started_at == started_at)


def record_progress(job_id: int, started_at: dt.datetime, *, progress: int, total: int) -> bool:
    """Store how far the worker got (the caller commits); False when another worker took the job over."""
    result = db.session.execute(
        update(ExportJob)
        .where(_mine(job_id, started_at))
        .values(progress=progress, total=total)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def finish(job_id: int, started_at: dt.datetime, *, rows: int, filename: str, storage_key: str) -> bool:
    """Mark the job done with its file (the caller commits); False when another worker took it over."""
    now = utcnow()
    result = db.session.execute(
        update(ExportJob)
        .where(_mine(job_id, started_at))
        .values(
            status=S.DONE,
            progress=rows,
            total=rows,
            filename=filename,
            storage_key=storage_key,
            finished_at=now,
            expires_at=now + keep_for(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def fail(job_id: int, message: str, started_at: dt.datetime | None = None) -> bool:
    """Mark the job failed with a message for its owner (the caller commits)."""
    condition = _mine(job_id, started_at) if started_at is not None else (ExportJob.id == job_id)
    now = utcnow()
    result = db.session.execute(
        update(ExportJob)
        .where(condition)
        .values(status=S.FAILED, error=message[:300], finished_at=now, expires_at=now + keep_for())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def due_for_a_run(now: dt.datetime | None = None) -> list[int]:
    """Return the jobs a worker should (re)try: queued a while ago, or running with a dead worker.

    Abandoned jobs that used up their attempts are marked failed here (the caller commits).
    """
    now = now or utcnow()
    waited = now - dt.timedelta(seconds=_cfg("EXPORT_REQUEUE_AFTER_SECONDS", 30))
    stale = now - run_timeout()
    exhausted = db.session.execute(
        select(ExportJob.id, User.locale)
        .join(User, User.id == ExportJob.user_id)
        .where(ExportJob.status == S.RUNNING, ExportJob.started_at < stale, ExportJob.attempts >= max_attempts())
    ).all()
    for job_id, locale in exhausted:
        # The error is read by the person who asked, in their language.
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = _("The export stopped unexpectedly several times. Try a smaller export, or ask for help.")
        fail(job_id, message)
        log.warning("export %s given up after %d attempts", job_id, max_attempts())
    return list(
        db.session.scalars(
            select(ExportJob.id)
            .where(
                or_(
                    (ExportJob.status == S.QUEUED) & (ExportJob.created_at < waited),
                    (ExportJob.status == S.RUNNING) & (ExportJob.started_at < stale),
                )
            )
            .order_by(ExportJob.created_at)
            .limit(500)
        )
    )


def cleanup_expired(now: dt.datetime | None = None) -> int:
    """Delete the jobs past `expires_at` and their files, then stray files; return how many jobs went.

    A running job is left alone until its run timeout passed (its worker may still write the file).
    """
    now = now or utcnow()
    expired = db.session.execute(
        select(ExportJob.id, ExportJob.storage_key).where(
            ExportJob.expires_at < now,
            or_(ExportJob.status != S.RUNNING, ExportJob.started_at < now - run_timeout()),
        )
    ).all()
    for _job_id, key in expired:
        if key and KEY_PATTERN.match(key):
            file_path(key).unlink(missing_ok=True)
    if expired:
        db.session.execute(
            delete(ExportJob)
            .where(ExportJob.id.in_([job_id for job_id, _key in expired]))
            .execution_options(synchronize_session=False)
        )
    _sweep_strays(now)
    return len(expired)


def _sweep_strays(now: dt.datetime) -> None:
    """Delete old files no job points to (a worker died between writing and recording its file)."""
    folder = export_folder()
    cutoff = (now - keep_for() - run_timeout()).timestamp()
    old = [p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not old:
        return
    known = set(db.session.scalars(select(ExportJob.storage_key).where(ExportJob.storage_key.is_not(None))))
    for path in old:
        if path.name not in known:
            path.unlink(missing_ok=True)
