"""The admin page on background work."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..core.access import admin_required
from . import services

bp = Blueprint("health", __name__, url_prefix="/admin/health")


@bp.get("/")
@admin_required
def index():
    return render_template("health/index.html", health=services.health(), window=services.heartbeat_window())
