"""Review pages: a buyer reviews a purchase, the public reads, the cooperative replies, officers moderate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..catalog.models import Product
from ..core.access import officer_required
from ..core.errors import PermissionDenied, ServiceError
from ..extensions import db
from ..orders.models import OrderLine, Purchase, Review
from ..registry.access import officer_covers, province_scope, staff_unit_or_404
from ..registry.models import Unit
from . import services
from .forms import ModerationForm, ReplyForm, ReportForm, ReviewForm

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


@bp.app_context_processor
def _helpers() -> dict:
    return {"reviewer_name": services.public_name}


def _add_error(form, exc: ServiceError, default: str) -> None:
    name = exc.field if exc.field and exc.field in form else default
    form[name].errors = [*form[name].errors, exc.message]


# ---------------------------------------------------------------- loading, object by object


def _purchase_of_buyer_or_404(number: str) -> Purchase:
    purchase = db.session.scalar(select(Purchase).where(Purchase.number == number))
    if purchase is None or purchase.buyer_id != current_user.id:
        abort(404)
    return purchase


def _line_of_buyer_or_404(line_id: int) -> OrderLine:
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order.purchase.buyer_id != current_user.id:
        abort(404)
    return line


def _review_or_404(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    return review


def _moderated_review_or_404(review_id: int) -> Review:
    """The review, if the user is an officer of its unit's province or an admin; else 404."""
    review = _review_or_404(review_id)
    if not officer_covers(current_user, db.session.get(Unit, review.unit_id)):
        abort(404)
    return review


def _published_product_or_404(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not product.published:
        abort(404)
    return product


# ---------------------------------------------------------------- the buyer


def _line_form(line_id: int, *, blank: bool = False) -> ReviewForm:
    # One form per line on one page: the prefix keeps field ids (and labels) unique.
    if blank:
        return ReviewForm(formdata=None, prefix=f"line-{line_id}")
    return ReviewForm(prefix=f"line-{line_id}")


def _render_purchase(purchase: Purchase, *, failed: tuple[int, ReviewForm] | None = None, status: int = 200):
    orders = services.reviewable_orders(purchase, buyer=current_user)
    forms = {
        line.id: _line_form(line.id, blank=True)
        for order, lines in orders
        if services.is_reviewable(order)
        for line, review in lines
        if review is None
    }
    if failed is not None:
        forms[failed[0]] = failed[1]
    return render_template(
        "reviews/purchase.html", purchase=purchase, orders=orders, forms=forms, reviewable=services.is_reviewable
    ), status


@bp.get("/orders/<number>")
@login_required
def purchase(number: str):
    return _render_purchase(_purchase_of_buyer_or_404(number))


@bp.post("/lines/<int:line_id>/new")
@login_required
def new_review(line_id: int):
    line = _line_of_buyer_or_404(line_id)
    purchase = line.order.purchase
    form = _line_form(line.id)
    if form.validate_on_submit():
        try:
            services.create_review(
                line,
                actor=current_user,
                product_rating=form.product_rating.data,
                unit_rating=form.unit_rating.data,
                text=form.text.data,
            )
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            if exc.field:
                _add_error(form, exc, "text")
            else:
                # Not about one field (already reviewed, not delivered): the line may show no form at all.
                flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Thank you, your review of %(name)s is published.", name=line.product_name), "success")
            return redirect(url_for(".purchase", number=purchase.number))
    return _render_purchase(purchase, failed=(line.id, form), status=422)


# ---------------------------------------------------------------- the public


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    product = _published_product_or_404(product_id)
    page = services.product_reviews(product.id, page=request.args.get("page", 1, type=int))
    return render_template("reviews/product.html", product=product, page=page, reviews=page.items)


@bp.route("/<int:review_id>/report", methods=["GET", "POST"])
@login_required
def report(review_id: int):
    review = _review_or_404(review_id)
    product = db.session.get(Product, review.product_id)
    # A hidden review, or one of an unpublished product, is not shown to anyone who could report it.
    if review.hidden_at is not None or product is None or not product.published:
        abort(404)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            queued = services.report_review(review, actor=current_user, reason=form.reason.data)
        except ServiceError as exc:
            db.session.rollback()
            _add_error(form, exc, "reason")
        else:
            db.session.commit()
            if queued:
                flash(_("Thank you. The province's officers will look at this review."), "success")
            else:
                flash(_("This review is already waiting for the province's officers."), "info")
            return redirect(url_for(".product", product_id=product.id))
    return render_template("reviews/report.html", review=review, product=product, form=form), (
        200 if request.method == "GET" else 422
    )


# ---------------------------------------------------------------- the cooperative


def _with_failed(items: list[Review], failed: tuple[int, object] | None) -> list[Review]:
    """The page's reviews, with the one whose form failed first when it is not on this page."""
    if failed is None or any(r.id == failed[0] for r in items):
        return list(items)
    return [db.session.get(Review, failed[0]), *items]


def _render_unit(unit: Unit, *, failed: tuple[int, ReplyForm] | None = None, status: int = 200):
    page = services.unit_reviews(unit.id, page=request.args.get("page", 1, type=int))
    items = _with_failed(page.items, failed)
    forms = {
        r.id: ReplyForm(formdata=None, prefix=f"review-{r.id}", data={"reply": r.reply or ""})
        for r in items
        if r.hidden_at is None
    }
    if failed is not None:
        forms[failed[0]] = failed[1]
    avg, count = services.unit_rating(unit.id)
    return render_template(
        "reviews/unit.html",
        unit=unit,
        page=page,
        items=items,
        forms=forms,
        products=services.products_of(items),
        rating_avg=avg,
        rating_count=count,
    ), status


@bp.get("/units/<int:unit_id>/")
@login_required
def unit(unit_id: int):
    return _render_unit(staff_unit_or_404(unit_id, current_user))


@bp.post("/<int:review_id>/reply")
@login_required
def reply(review_id: int):
    review = _review_or_404(review_id)
    unit = staff_unit_or_404(review.unit_id, current_user)
    if review.hidden_at is not None:
        abort(404)
    form = ReplyForm(prefix=f"review-{review.id}")
    if form.validate_on_submit():
        try:
            services.reply_to_review(review, actor=current_user, text=form.reply.data)
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            _add_error(form, exc, "reply")
        else:
            db.session.commit()
            flash(_("Your reply is published."), "success")
            return redirect(url_for(".unit", unit_id=unit.id))
    return _render_unit(unit, failed=(review.id, form), status=422)


# ---------------------------------------------------------------- officers


def _render_moderation(*, hidden: bool, failed: tuple[int, ModerationForm] | None = None, status: int = 200):
    scope = province_scope(current_user)
    query = services.moderation_query(scope, hidden=hidden)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=20, error_out=False)
    items = _with_failed(page.items, failed)
    forms = {r.id: ModerationForm(formdata=None, prefix=f"review-{r.id}") for r in items}
    if failed is not None:
        forms[failed[0]] = failed[1]
    return render_template(
        "reviews/moderation.html",
        page=page,
        items=items,
        forms=forms,
        hidden=hidden,
        scope=scope,
        products=services.products_of(items),
        units=services.units_of_reviews(items),
    ), status


@bp.get("/moderation")
@officer_required
def moderation():
    return _render_moderation(hidden=request.args.get("show") == "hidden")


def _moderate(review_id: int, verb, done: str):
    review = _moderated_review_or_404(review_id)
    was_hidden = review.hidden_at is not None
    form = ModerationForm(prefix=f"review-{review.id}")
    if form.validate_on_submit():
        try:
            verb(review, actor=current_user, reason=form.reason.data)
        except PermissionDenied:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            _add_error(form, exc, "reason")
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for(".moderation", **({"show": "hidden"} if review.hidden_at else {})))
    return _render_moderation(hidden=was_hidden, failed=(review.id, form), status=422)


@bp.post("/<int:review_id>/hide")
@officer_required
def hide(review_id: int):
    return _moderate(review_id, services.hide_review, _("The review is hidden."))


@bp.post("/<int:review_id>/unhide")
@officer_required
def unhide(review_id: int):
    return _moderate(review_id, services.unhide_review, _("The review is shown again."))


@bp.post("/<int:review_id>/dismiss")
@officer_required
def dismiss(review_id: int):
    return _moderate(review_id, services.dismiss_report, _("The report is dismissed; the review stays."))
