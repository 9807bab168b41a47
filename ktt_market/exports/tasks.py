"""Building export files in the background, the sweep that restarts forgotten jobs, and the cleanup.

Every task may run twice (late acknowledgement, requeue on worker loss): `run_export` first claims
its job with one conditional UPDATE and commits, so a second copy, or a copy after the file is done,
does nothing. The file is written under a temporary name and renamed once complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..accounts.models import User
from ..extensions import db
from . import services
from .exporters import EXPORTERS, batch_size
from .models import ExportJob

log = logging.getLogger(__name__)


class _Overtaken(Exception):
    """Another worker claimed this job after ours was taken for dead: stop without writing."""


@shared_task(name="exports.run_export")
def run_export(job_id: int) -> str:
    """Build the file of one export job, recording progress after every batch."""
    started_at = services.claim(job_id)
    if started_at is None:
        return "skipped"
    job = db.session.get(ExportJob, job_id)
    user = db.session.get(User, job.user_id)
    locale = (user.locale if user else None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    # The file speaks the language of the person who asked for it.
    with force_locale(locale):
        return _build(job, user, started_at)


def _build(job: ExportJob, user: User, started_at) -> str:
    job_id, kind = job.id, job.kind
    exporter = EXPORTERS.get(kind)
    if exporter is None or not exporter.allowed(user, job.params):
        services.fail(job_id, _("You no longer have access to this data."), started_at)
        db.session.commit()
        return "failed"
    key = services.new_storage_key(job_id)
    final = services.file_path(key)
    partial = final.with_name(f".tmp-{key}")
    try:
        filename = exporter.filename(job.params)
        sheets = exporter.sheets(job.params)
        total = sum(sheet.count() for sheet in sheets)
        if not services.record_progress(job_id, started_at, progress=0, total=total):
            raise _Overtaken
        db.session.commit()
        rows = _write(sheets, partial, job_id, started_at, total)
        os.replace(partial, final)
        if not services.finish(job_id, started_at, rows=rows, filename=filename, storage_key=key):
            raise _Overtaken
        db.session.commit()
    except _Overtaken:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        log.info("export %s was taken over by another worker", job_id)
        return "overtaken"
    except Exception:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        log.exception("export %s (%s) failed", job_id, kind)
        services.fail(job_id, _("The export could not be built. Please try again later."), started_at)
        db.session.commit()
        return "failed"
    log.info("export %s (%s): %d rows", job_id, kind, rows)
    return "done"


def _write(sheets, path: Path, job_id: int, started_at, total: int) -> int:
    """Write the sheets to `path` in write-only mode (rows go to disk as they come); return the row count."""
    from openpyxl import Workbook  # only in the worker that builds an export

    workbook = Workbook(write_only=True)
    size = batch_size()
    done = 0
    try:
        for sheet in sheets:
            worksheet = workbook.create_sheet(title=sheet.title[:31])
            worksheet.append(sheet.header)
            for batch in sheet.batches(size):
                for row in batch:
                    worksheet.append(list(row))
                done += len(batch)
                # Rows added since the count was taken must not show as more than 100 %.
                if not services.record_progress(job_id, started_at, progress=done, total=max(total, done)):
                    raise _Overtaken
                db.session.commit()
    except BaseException:
        _discard(workbook)
        raise
    workbook.save(path)
    return done


def _discard(workbook) -> None:
    """Close and delete the temporary files of an unfinished write-only workbook."""
    for worksheet in workbook.worksheets:
        writer = getattr(worksheet, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            if worksheet._rows is not None:
                worksheet._rows.close()
            writer.close()
            writer.cleanup()


def queue(job_id: int) -> bool:
    """Hand a committed job to the workers now; with the broker down the sweep picks it up later.

    Off under tests unless EXPORT_QUEUE_AFTER_REQUEST says so: unit tests call the tasks directly.
    """
    if not current_app.config.get("EXPORT_QUEUE_AFTER_REQUEST", not current_app.testing):
        return False
    try:
        # No publish retries: a page must not wait for a broker that is away.
        run_export.apply_async((job_id,), retry=False)
    except Exception as exc:  # the job is safe in the database whatever the broker did
        log.warning("broker unavailable, export %s left to the sweep: %s", job_id, type(exc).__name__)
        return False
    return True


@shared_task(name="exports.run_queued")
def run_queued() -> int:
    """Queue a run for every job left waiting (the broker was down) or abandoned by a dead worker."""
    ids = services.due_for_a_run()
    db.session.commit()  # give-ups are stored; end the transaction before talking to the broker
    for job_id in ids:
        try:
            run_export.apply_async((job_id,), retry=False)
        except Exception as exc:
            log.warning("broker unavailable, %d export(s) wait for the next sweep: %s", len(ids), type(exc).__name__)
            break
    return len(ids)


@shared_task(name="exports.cleanup")
def cleanup() -> int:
    """Delete expired exports and their files."""
    removed = services.cleanup_expired()
    db.session.commit()
    return removed
