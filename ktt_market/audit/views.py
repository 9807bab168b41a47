"""The audit log page: officers read their province's events, admins everyone's."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..core.access import officer_required
from ..core.text import nfc
from ..extensions import db
from . import services
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50


@bp.get("/")
@officer_required
def index():
    form = AuditFilterForm(request.args)
    actions = services.known_actions(current_user)
    types = services.known_object_types(current_user)
    form.action.choices = [("", _("All"))] + [(a, a) for a in actions]
    # A filter value no event carries yet still filters (to nothing), rather than erroring.
    if form.action.data and form.action.data not in actions:
        form.action.choices.append((form.action.data, form.action.data))
    form.object_type.choices = [("", _("All"))] + [(t, t) for t in types]
    if form.object_type.data and form.object_type.data not in types:
        form.object_type.choices.append((form.object_type.data, form.object_type.data))
    status = 200
    if request.args and not form.validate():
        status = 422
        page = None
        events = []
    else:
        query = services.search_query(
            viewer=current_user,
            actor=nfc(form.actor.data) or None,
            action=form.action.data or None,
            object_type=form.object_type.data or None,
            object_id=nfc(form.object_id.data) or None,
            date_from=form.date_from.data,
            date_to=form.date_to.data,
            text=nfc(form.q.data) or None,
        )
        page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
        events = page.items
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        events=events,
        actors=services.actors_of(events),
        args=args,
        scope=current_user.province_code if current_user.is_officer else None,
    ), status
