"""Notification pages: the inbox, the settings per kind and channel, and the admins' failed messages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..core.access import admin_required
from ..core.errors import ServiceError
from ..extensions import db
from . import services, tasks
from .forms import ActionForm, SettingsForm
from .models import Channel, Kind, Notification, OutboxMessage, OutboxStatus

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PER_PAGE = 30


@bp.app_context_processor
def _notifications_context() -> dict:
    def unread_count() -> int:
        """How many unread inbox messages the user has (queried only when a page shows it)."""
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user.id)

    return {"unread_count": unread_count}


def _own_notification_or_404(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    return notification


@bp.get("")
@login_required
def inbox():
    query = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("notifications/inbox.html", page=page)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = _own_notification_or_404(notification_id)
    services.mark_read(notification, actor=current_user)
    db.session.commit()
    link = notification.link or ""
    # Only paths of this site: never an address elsewhere ("//host" included).
    if request.form.get("open") and link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect(url_for(".inbox"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    done = services.mark_all_read(actor=current_user)
    db.session.commit()
    if done:
        flash(_("All messages marked as read."), "success")
    return redirect(url_for(".inbox"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm()
    matrix = services.preference_matrix(current_user)
    error = None
    if form.validate_on_submit():
        chosen = [tuple(name.split(":", 1)) for name in request.form if ":" in name]
        try:
            services.set_preferences(current_user, actor=current_user, chosen=chosen)
        except ServiceError as exc:
            db.session.rollback()
            error = exc.message
            matrix = {key: f"{key[0]}:{key[1]}" in request.form for key in matrix}
        else:
            db.session.commit()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for(".settings"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "notifications/settings.html",
        form=form,
        matrix=matrix,
        error=error,
        kinds=list(Kind),
        channels=[Channel.INAPP, Channel.EMAIL, Channel.SMS, Channel.ZALO],
        kind_labels=services.KIND_LABELS,
        channel_labels=services.CHANNEL_LABELS,
    ), status


@bp.get("/failed")
@admin_required
def failed():
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template(
        "notifications/failed.html", page=page, kind_labels=services.KIND_LABELS, channel_labels=services.CHANNEL_LABELS
    )


@bp.post("/failed/<int:message_id>/retry")
@admin_required
def retry(message_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    try:
        services.retry_failed(message, actor=current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".failed"))
    db.session.commit()
    tasks.kick([message.id])
    flash(_("The message will be sent again."), "success")
    return redirect(url_for(".failed"))
