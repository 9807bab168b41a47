"""Review verbs: a buyer rates a delivered order line, the cooperative replies, officers moderate.

Every verb takes the acting user explicitly, flushes and never commits: the request commits once.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..audit import services as audit
from ..catalog.models import Product
from ..core.errors import PermissionDenied, ServiceError
from ..core.models import utcnow
from ..extensions import db
from ..orders.models import Order, OrderLine, OrderStatus, Purchase, Review
from ..registry.access import officer_covers, staff_role
from ..registry.models import Unit

log = logging.getLogger(__name__)

# An order can be reviewed once it reached the buyer.
REVIEWABLE = frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED})
MAX_TEXT = 2000
MAX_REASON = 1000
PER_PAGE = 10

_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str | None) -> str | None:
    """Return multi-line text NFC-normalised and trimmed (line breaks kept), None when blank."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text or None


def _checked_text(value: str | None, *, field: str, limit: int, required: bool) -> str | None:
    text = clean_text(value)
    if text is None and required:
        raise ServiceError(_("This field is required."), field=field)
    if text is not None and len(text) > limit:
        raise ServiceError(_("Write at most %(limit)d characters.", limit=limit), field=field)
    return text


def _checked_rating(value: object, *, field: str) -> int:
    # bool is an int; a rating of True is a programming error, not a star.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ServiceError(_("Choose from 1 to 5 stars."), field=field)
    return value


# ---------------------------------------------------------------- ratings


def _lock_product(product_id: int) -> None:
    # FOR NO KEY UPDATE: it does not conflict with the key-share locks that inserting a review's foreign key takes,
    # so two buyers reviewing the same product queue up here instead of deadlocking.
    db.session.execute(select(Product.id).where(Product.id == product_id).with_for_update(key_share=True))


def recompute_product_rating(product_id: int) -> Product:
    """Set the product's rating average and count from its visible reviews (one aggregate query)."""
    _lock_product(product_id)
    db.session.flush()
    avg, count = db.session.execute(
        select(func.avg(Review.product_rating), func.count(Review.id)).where(
            Review.product_id == product_id, Review.hidden_at.is_(None)
        )
    ).one()
    product = db.session.get(Product, product_id)
    product.rating_count = int(count or 0)
    product.rating_avg = round(float(avg), 2) if count else None
    db.session.flush()
    return product


def unit_rating(unit_id: int) -> tuple[float | None, int]:
    """Return the average cooperative rating and the number of visible reviews of a unit."""
    avg, count = db.session.execute(
        select(func.avg(Review.unit_rating), func.count(Review.id)).where(
            Review.unit_id == unit_id, Review.hidden_at.is_(None)
        )
    ).one()
    return (round(float(avg), 2) if count else None), int(count or 0)


# ---------------------------------------------------------------- reading


def product_reviews(product_id: int, *, page: int = 1, per_page: int = PER_PAGE) -> Pagination:
    """Return a page of a product's visible reviews, newest first, with the cooperative's replies."""
    query = (
        select(Review)
        .where(Review.product_id == product_id, Review.hidden_at.is_(None))
        .options(joinedload(Review.buyer))
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def unit_reviews(unit_id: int, *, page: int = 1, per_page: int = 20) -> Pagination:
    """Return a page of every review of a unit's products (hidden ones too), newest first, for its staff."""
    query = (
        select(Review)
        .where(Review.unit_id == unit_id)
        .options(joinedload(Review.buyer))
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def moderation_query(province_code: int | None, *, hidden: bool) -> Select:
    """Reviews waiting for a moderator (reported, still shown) or already hidden, in a province (None: all)."""
    query = select(Review).join(Unit, Unit.id == Review.unit_id)
    if hidden:
        query = query.where(Review.hidden_at.is_not(None)).order_by(Review.hidden_at.desc(), Review.id.desc())
    else:
        query = query.where(Review.reported_at.is_not(None), Review.hidden_at.is_(None)).order_by(
            Review.reported_at, Review.id
        )
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    return query.options(joinedload(Review.buyer))


def products_of(reviews: list[Review]) -> dict[int, Product]:
    """Return the products of these reviews by id, in one query."""
    ids = {r.product_id for r in reviews}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))} if ids else {}


def units_of_reviews(reviews: list[Review]) -> dict[int, Unit]:
    """Return the units of these reviews by id, in one query."""
    ids = {r.unit_id for r in reviews}
    return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def reviewable_orders(purchase: Purchase, *, buyer: User) -> list[tuple[Order, list[tuple[OrderLine, Review | None]]]]:
    """Return the purchase's orders with each line and its review (None while not written)."""
    if purchase.buyer_id != buyer.id:
        raise PermissionDenied(_("This purchase is not yours."))
    orders = list(
        db.session.scalars(
            select(Order)
            .where(Order.purchase_id == purchase.id)
            .options(joinedload(Order.lines), joinedload(Order.unit))
            .order_by(Order.id)
        ).unique()
    )
    line_ids = [line.id for order in orders for line in order.lines]
    found = db.session.scalars(select(Review).where(Review.order_line_id.in_(line_ids))) if line_ids else []
    reviews = {r.order_line_id: r for r in found}
    return [(order, [(line, reviews.get(line.id)) for line in order.lines]) for order in orders]


def is_reviewable(order: Order) -> bool:
    return order.status in REVIEWABLE


def public_name(user: User | None) -> str:
    """Return how a reviewer is shown to the public: the given name only (Vietnamese names end with it)."""
    if user is None or not user.full_name.strip():
        return _("A buyer")
    return user.full_name.split()[-1]


# ---------------------------------------------------------------- writing


def create_review(
    line: OrderLine, *, actor: User, product_rating: int, unit_rating: int, text: str | None = None
) -> Review:
    """Record the buyer's review of one delivered order line and update the product's rating."""
    order = line.order
    if order.purchase.buyer_id != actor.id:
        raise PermissionDenied(_("Only the buyer of this order can review it."))
    if order.status not in REVIEWABLE:
        raise ServiceError(_("You can review a product once the order has been delivered."))
    product_rating = _checked_rating(product_rating, field="product_rating")
    unit_rating = _checked_rating(unit_rating, field="unit_rating")
    text = _checked_text(text, field="text", limit=MAX_TEXT, required=False)
    _lock_product(line.product_id)
    if _existing_review_id(line.id) is not None:
        raise ServiceError(_("You have already reviewed this product of the order."))
    review = Review(
        order_line_id=line.id,
        product_id=line.product_id,
        unit_id=order.unit_id,
        buyer_id=actor.id,
        product_rating=product_rating,
        unit_rating=unit_rating,
        text=text,
    )
    # A savepoint: a second tab submitting the same line at the same moment hits the unique constraint,
    # and the buyer gets the same message instead of an error page.
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        raise ServiceError(_("You have already reviewed this product of the order.")) from None
    recompute_product_rating(line.product_id)
    return review


def _existing_review_id(line_id: int) -> int | None:
    return db.session.scalar(select(Review.id).where(Review.order_line_id == line_id))


def reply_to_review(review: Review, *, actor: User, text: str) -> Review:
    """Set (or change) the cooperative's one public reply to a review."""
    if staff_role(actor, review.unit_id) is None:
        raise PermissionDenied(_("Only the cooperative's staff can reply."))
    review.reply = _checked_text(text, field="reply", limit=MAX_TEXT, required=True)
    review.replied_at = utcnow()
    db.session.flush()
    return review


def report_review(review: Review, *, actor: User, reason: str) -> bool:
    """Flag a review for the province's moderators; return False when it was already waiting for them."""
    if review.hidden_at is not None:
        raise ServiceError(_("This review is already hidden."))
    reason = _checked_text(reason, field="reason", limit=MAX_REASON, required=True)
    if review.reported_at is not None:
        # One report is enough to queue it; the first reason stays beside it.
        return False
    review.reported_at = utcnow()
    review.report_reason = reason
    log.info("review %s reported by user %s", review.id, actor.id)
    db.session.flush()
    return True


def _moderator_check(review: Review, actor: User) -> None:
    unit = db.session.get(Unit, review.unit_id)
    if not officer_covers(actor, unit):
        raise PermissionDenied(_("Only an officer of the cooperative's province can moderate its reviews."))


def _audit(action: str, review: Review, actor: User, summary: str, before: dict, after: dict) -> None:
    """Record a moderation decision in the audit log, under the province of the review's unit."""
    unit = db.session.get(Unit, review.unit_id)
    audit.record(
        action,
        actor=actor,
        obj=review,
        province_code=unit.province_code if unit is not None else None,
        summary=f"{summary} (review {review.id} of {unit.name if unit else review.unit_id})",
        before=before,
        after=after,
    )


def hide_review(review: Review, *, actor: User, reason: str) -> Review:
    """Hide a review from the public, with the moderator's reason, and update the product's rating."""
    _moderator_check(review, actor)
    reason = _checked_text(reason, field="reason", limit=MAX_REASON, required=True)
    if review.hidden_at is not None:
        raise ServiceError(_("This review is already hidden."))
    review.hidden_at = utcnow()
    review.hidden_by_id = actor.id
    review.hidden_reason = reason
    recompute_product_rating(review.product_id)
    log.info("review %s hidden by user %s", review.id, actor.id)
    _audit(
        "reviews.review.hide",
        review,
        actor,
        "Hid a review",
        {"hidden": False, "report_reason": review.report_reason},
        {"hidden": True, "reason": reason},
    )
    return review


def unhide_review(review: Review, *, actor: User, reason: str) -> Review:
    """Show a hidden review again (the report is settled), and update the product's rating."""
    _moderator_check(review, actor)
    reason = _checked_text(reason, field="reason", limit=MAX_REASON, required=True)
    if review.hidden_at is None:
        raise ServiceError(_("This review is not hidden."))
    before = {"hidden": True, "hidden_reason": review.hidden_reason, "report_reason": review.report_reason}
    review.hidden_at = None
    review.hidden_by_id = None
    review.hidden_reason = None
    # A moderator looked at it and decided to show it: it leaves the waiting list.
    review.reported_at = None
    review.report_reason = None
    recompute_product_rating(review.product_id)
    # No column keeps the reason for showing a review again; the log does.
    log.info("review %s shown again by user %s: %s", review.id, actor.id, reason)
    _audit(
        "reviews.review.unhide",
        review,
        actor,
        "Showed a hidden review again",
        before,
        {"hidden": False, "reason": reason},
    )
    return review


def dismiss_report(review: Review, *, actor: User, reason: str) -> Review:
    """Keep a reported review visible and take it off the waiting list."""
    _moderator_check(review, actor)
    reason = _checked_text(reason, field="reason", limit=MAX_REASON, required=True)
    if review.reported_at is None or review.hidden_at is not None:
        raise ServiceError(_("This review is not waiting for a decision."))
    before = {"reported": True, "report_reason": review.report_reason}
    review.reported_at = None
    review.report_reason = None
    log.info("report on review %s dismissed by user %s: %s", review.id, actor.id, reason)
    _audit("reviews.report.dismiss", review, actor, "Dismissed a report", before, {"reported": False, "reason": reason})
    db.session.flush()
    return review
