"""Export pages: start an export from a list page, watch its progress, download the file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..core.access import officer_required
from ..core.errors import PermissionDenied, ServiceError
from ..extensions import db
from ..registry.access import staff_unit_or_404, visible_unit_or_404
from . import services, tasks
from .exporters import EXPORTERS
from .models import ExportJob, ExportStatus

bp = Blueprint("exports", __name__, url_prefix="/exports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTRY_FILTERS = ("province", "ward", "kind", "sector", "status", "state", "q")

STATUS_LABELS = {
    ExportStatus.QUEUED: _l("Waiting to start"),
    ExportStatus.RUNNING: _l("Being prepared"),
    ExportStatus.DONE: _l("Ready"),
    ExportStatus.FAILED: _l("Failed"),
}
STATUS_BADGES = {
    ExportStatus.QUEUED: "",
    ExportStatus.RUNNING: "warn",
    ExportStatus.DONE: "ok",
    ExportStatus.FAILED: "bad",
}


@bp.context_processor
def _labels() -> dict:
    return {
        "export_status_labels": STATUS_LABELS,
        "export_status_badges": STATUS_BADGES,
        "export_kind_label": lambda kind: EXPORTERS[kind].label if kind in EXPORTERS else kind,
    }


def _own_job_or_404(export_id: int) -> ExportJob:
    """The job, if the current user asked for it; anyone else's looks like none."""
    job = db.session.get(ExportJob, export_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    return job


def _source_url(job: ExportJob) -> str | None:
    """The page the export was started from, to go back to."""
    params = job.params or {}
    if job.kind == "registry":
        return url_for("registry.index", **{k: v for k, v in params.items() if v is not None})
    if job.kind == "orders":
        return url_for("orders.incoming", unit_id=params["unit_id"], status=params.get("status") or None)
    if job.kind == "members":
        return url_for("members.register", unit_id=params["unit_id"])
    return None


def _start(kind: str, params: Mapping[str, Any]):
    """Request the export, commit, then hand it to the workers and show its progress page."""
    try:
        job = services.request_export(kind, params, actor=current_user)
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("exports/index.html", jobs=services.jobs_of(current_user), error=exc.message), 422
    db.session.commit()
    tasks.queue(job.id)
    flash(_("Your export is being prepared. You can leave this page and come back later."), "success")
    return redirect(url_for(".job", export_id=job.id))


@bp.post("/registry")
@officer_required
def start_registry():
    return _start("registry", {k: request.form.get(k) for k in REGISTRY_FILTERS})


@bp.post("/units/<int:unit_id>/orders")
@login_required
def start_orders(unit_id: int):
    staff_unit_or_404(unit_id, current_user)
    return _start("orders", {"unit_id": unit_id, "status": request.form.get("status")})


@bp.post("/units/<int:unit_id>/members")
@login_required
def start_members(unit_id: int):
    visible_unit_or_404(unit_id, current_user)
    return _start("members", {"unit_id": unit_id})


@bp.get("/")
@login_required
def index():
    return render_template("exports/index.html", jobs=services.jobs_of(current_user), error=None)


@bp.get("/<int:export_id>")
@login_required
def job(export_id: int):
    job = _own_job_or_404(export_id)
    response = render_template("exports/job.html", job=job, source_url=_source_url(job))
    return response, 200, {"Cache-Control": "no-store"}


@bp.get("/<int:export_id>/download")
@login_required
def download(export_id: int):
    job = _own_job_or_404(export_id)
    if job.status is not ExportStatus.DONE or not job.storage_key:
        abort(404)
    try:
        path = services.file_path(job.storage_key)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)  # expired and cleaned up
    response = send_file(path, mimetype=XLSX, as_attachment=True, download_name=job.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
