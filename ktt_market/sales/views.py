"""A cooperative's sales page and its CSV download; its staff and the province's officers may read it."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..core.i18n import local_today
from ..orders.models import OrderStatus
from ..registry.access import visible_unit_or_404
from ..registry.models import Unit
from . import services
from .forms import PeriodForm
from .services import Period

bp = Blueprint("sales", __name__, url_prefix="/sales")

STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: _l("Waiting for payment"),
    OrderStatus.PLACED: _l("Placed"),
    OrderStatus.CONFIRMED: _l("Confirmed"),
    OrderStatus.SHIPPED: _l("Shipped"),
    OrderStatus.DELIVERED: _l("Delivered"),
    OrderStatus.COMPLETED: _l("Completed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
    OrderStatus.REFUNDED: _l("Refunded"),
}


def _periods(form: PeriodForm) -> tuple[Period, Period, bool]:
    """The weekly and monthly periods, and whether the user chose them (else the defaults)."""
    if form.validate() and (form.start.data or form.end.data):
        end = form.end.data or local_today()
        start = form.start.data or services.default_months(end).start
        if start <= end and (end - start).days < services.MAX_DAYS:
            chosen = Period(start, end)
            return chosen, chosen, True
    return services.default_weeks(), services.default_months(), False


@bp.get("/units/<int:unit_id>/")
@login_required
def unit(unit_id: int):
    unit = visible_unit_or_404(unit_id, current_user)
    form = PeriodForm(request.args)
    weeks_period, months_period, chosen = _periods(form)
    weekly = services.sales_table(unit.id, weeks_period, by="week")
    monthly = services.sales_table(unit.id, months_period, by="month")
    return render_template(
        "sales/unit.html",
        unit=unit,
        form=form,
        chosen=chosen,
        weeks_period=weeks_period,
        months_period=months_period,
        weekly=weekly,
        monthly=monthly,
        max_weekly=max((b.revenue_vnd for b in weekly), default=0),
        max_monthly=max((b.revenue_vnd for b in monthly), default=0),
        by_quantity=services.best_sellers(unit.id, months_period, by="quantity"),
        by_revenue=services.best_sellers(unit.id, months_period, by="revenue"),
        low_stock=services.low_stock(unit.id),
        counts=services.status_counts(unit.id, months_period),
        STATUS_LABELS=STATUS_LABELS,
        args={k: v for k, v in request.args.items() if k in ("start", "end") and v},
    )


@bp.get("/units/<int:unit_id>/sales-<by>.csv")
@login_required
def export(unit_id: int, by: str):
    unit = visible_unit_or_404(unit_id, current_user)
    if by not in ("week", "month"):
        abort(404)
    weeks_period, months_period, _chosen = _periods(PeriodForm(request.args))
    period = weeks_period if by == "week" else months_period
    return _csv_response(unit, by, period, services.sales_table(unit.id, period, by=by))


def _csv_response(unit: Unit, by: str, period: Period, rows: list[services.Bucket]) -> Response:
    out = io.StringIO()
    # The BOM makes spreadsheet programs read the Vietnamese headers as UTF-8.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("From"), _("To"), _("Orders"), _("Revenue (đồng)")])
    for row in rows:
        writer.writerow([row.start.isoformat(), row.end.isoformat(), row.orders, row.revenue_vnd])
    filename = f"sales-{unit.id}-{'weekly' if by == 'week' else 'monthly'}-{period.start}-{period.end}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
