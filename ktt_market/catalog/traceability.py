"""Public traceability pages (Circular 02/2024/TT-BKHCN): what a buyer sees on scanning a batch's QR code.

A page shows the product's name and photo, the producer's name and address, the certificates in
force, the batch code and its dates, and nothing else (no price, no stock, no staff). It is reached
only by the batch's unguessable token, needs no login, and is registered at the site root (`/trace/...`)
from the management blueprint, since that blueprint lives under /manage.
"""

from __future__ import annotations

import io

from flask import Blueprint, Flask, Response, abort, render_template, url_for

from ..core import places
from ..core.i18n import local_today
from . import services
from .forms import CERTIFICATION_LABELS, SALE_UNIT_LABELS

trace_bp = Blueprint("trace", __name__, url_prefix="/trace")


def trace_url(token: str) -> str:
    """Return the absolute address of a batch's traceability page (what its QR code encodes)."""
    return url_for("trace.page", public_token=token, _external=True)


def qr_svg(url: str) -> bytes:
    """Return a QR code of `url` as a standalone SVG document."""
    import segno  # only where a QR code is drawn

    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=4, xmldecl=True, svgns=True, title=url)
    return out.getvalue()


def _batch_or_404(token: str):
    batch = services.batch_by_token(token)
    if batch is None:
        abort(404)
    return batch


@trace_bp.get("/<public_token>")
def page(public_token: str):
    """Show a batch's traceability facts to anyone holding its token."""
    batch = _batch_or_404(public_token)
    product = batch.product
    unit = product.unit
    response = Response(
        render_template(
            "catalog/trace.html",
            batch=batch,
            product=product,
            unit=unit,
            image=product.images[0] if product.images else None,
            certifications=services.valid_certifications(product, local_today()),
            ward=places.ward_name(unit.ward_code),
            province=places.province_name(unit.province_code),
            qr_url=url_for(".qr", public_token=public_token),
            CERTIFICATION_LABELS=CERTIFICATION_LABELS,
            SALE_UNIT_LABELS=SALE_UNIT_LABELS,
            today=local_today(),
        )
    )
    # A shared cache may keep it a little; certificates that expire drop off within the hour.
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@trace_bp.get("/<public_token>/qr.svg")
def qr(public_token: str):
    """Serve the printable QR code that opens the batch's traceability page."""
    _batch_or_404(public_token)
    response = Response(qr_svg(trace_url(public_token)), mimetype="image/svg+xml")
    response.headers["Content-Disposition"] = f'inline; filename="trace-{public_token}.svg"'
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


def register_trace(app: Flask) -> None:
    """Add the traceability pages to `app` (once)."""
    if "trace" not in app.blueprints:
        app.register_blueprint(trace_bp)
