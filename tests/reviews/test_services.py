"""Review verbs: who may review what and when, replies, reports, moderation, and the averages they keep."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ktt_market.accounts.models import User
from ktt_market.catalog.models import Product
from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.extensions import db
from ktt_market.orders.models import OrderLine, OrderStatus, Purchase, Review
from ktt_market.reviews import services

from .conftest import FAR_WARD

pytestmark = pytest.mark.core


def get_user(user) -> User:
    return db.session.get(User, user.id)


def get_line(line_id: int) -> OrderLine:
    return db.session.get(OrderLine, line_id)


def review(line_id, buyer, product_rating=5, unit_rating=4, text=None) -> Review:
    return services.create_review(
        get_line(line_id), actor=get_user(buyer), product_rating=product_rating, unit_rating=unit_rating, text=text
    )


def error_of(call) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


# ---------------------------------------------------------------- writing a review


def test_buyer_reviews_a_delivered_line_and_the_product_rating_follows(ctx, delivered, buyer, product):
    r = review(delivered.line_ids[0], buyer, 4, 5, text="  Bưởi ngọt,\r\nvỏ mỏng.  ")
    assert (r.product_rating, r.unit_rating, r.text) == (4, 5, "Bưởi ngọt,\nvỏ mỏng.")
    assert (r.product_id, r.buyer_id) == (product.id, buyer.id)
    p = db.session.get(Product, product.id)
    assert (p.rating_avg, p.rating_count) == (4.0, 1)


def test_text_is_stored_nfc(ctx, delivered, buyer):
    decomposed = "Bu\u031bo\u031b\u0309i ngon"  # "Bưởi ngon" typed with combining marks
    r = review(delivered.line_ids[0], buyer, text=decomposed)
    assert r.text == "Bưởi ngon"


def test_completed_orders_can_be_reviewed(ctx, make_order, unit, buyer, product):
    order = make_order(unit, buyer, [(product, 1)], status=OrderStatus.COMPLETED)
    assert review(order.line_ids[0], buyer).id


@pytest.mark.parametrize(
    "status", [OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.CANCELLED]
)
def test_undelivered_orders_cannot_be_reviewed(ctx, make_order, unit, buyer, product, status):
    order = make_order(unit, buyer, [(product, 1)], status=status)
    exc = error_of(lambda: review(order.line_ids[0], buyer))
    assert "once the order has been delivered" in exc.message
    assert db.session.scalar(select(func.count(Review.id))) == 0


def test_another_buyers_line_is_refused(ctx, delivered, make_user):
    with pytest.raises(PermissionDenied):
        review(delivered.line_ids[0], make_user())
    assert db.session.scalar(select(func.count(Review.id))) == 0


def test_a_line_is_reviewed_once(ctx, delivered, buyer, product):
    review(delivered.line_ids[0], buyer, 5)
    exc = error_of(lambda: review(delivered.line_ids[0], buyer, 1))
    assert "already reviewed" in exc.message
    p = db.session.get(Product, product.id)
    assert (p.rating_avg, p.rating_count) == (5.0, 1)


def test_a_racing_second_review_meets_the_unique_constraint(ctx, delivered, buyer, monkeypatch):
    review(delivered.line_ids[0], buyer, 5)
    # As if the other request had checked before this one inserted.
    monkeypatch.setattr(services, "_existing_review_id", lambda line_id: None)
    exc = error_of(lambda: review(delivered.line_ids[0], buyer, 2))
    assert "already reviewed" in exc.message
    # The savepoint kept the first review and the transaction usable.
    assert db.session.scalar(select(func.count(Review.id))) == 1


@pytest.mark.parametrize("field", ["product_rating", "unit_rating"])
@pytest.mark.parametrize("value", [0, 6, -1, None, "5", True])
def test_ratings_are_one_to_five(ctx, delivered, buyer, field, value):
    ratings = {"product_rating": 5, "unit_rating": 5, field: value}
    exc = error_of(lambda: review(delivered.line_ids[0], buyer, **ratings))
    assert exc.field == field
    assert "1 to 5" in exc.message


def test_text_is_at_most_2000_characters(ctx, delivered, buyer):
    exc = error_of(lambda: review(delivered.line_ids[0], buyer, text="a" * 2001))
    assert exc.field == "text"
    assert review(delivered.line_ids[0], buyer, text="a" * 2000).text == "a" * 2000


def test_blank_text_is_stored_as_none(ctx, delivered, buyer):
    assert review(delivered.line_ids[0], buyer, text=" \n ").text is None


def test_each_line_of_an_order_gets_its_own_review(ctx, make_order, make_product, unit, buyer, product):
    other = make_product(unit)
    order = make_order(unit, buyer, [(product, 1), (other, 3)])
    review(order.line_ids[0], buyer, 5)
    review(order.line_ids[1], buyer, 3)
    assert db.session.get(Product, product.id).rating_count == 1
    assert db.session.get(Product, other.id).rating_avg == 3.0


# ---------------------------------------------------------------- averages


def test_averages_come_from_visible_reviews_only(ctx, make_order, make_user, unit, product, officer):
    buyers = [make_user() for _ in range(3)]
    orders = [make_order(unit, b, [(product, 1)]) for b in buyers]  # committed before this session writes
    reviews = [
        review(order.line_ids[0], b, product_rating=stars, unit_rating=stars)
        for order, b, stars in zip(orders, buyers, (5, 4, 1), strict=True)
    ]
    p = db.session.get(Product, product.id)
    assert (p.rating_avg, p.rating_count) == (3.33, 3)
    assert services.unit_rating(unit.id) == (3.33, 3)

    services.hide_review(reviews[2], actor=get_user(officer), reason="Xúc phạm")
    assert (p.rating_avg, p.rating_count) == (4.5, 2)
    assert services.unit_rating(unit.id) == (4.5, 2)
    assert [r.id for r in services.product_reviews(product.id).items] == [reviews[1].id, reviews[0].id]

    services.unhide_review(reviews[2], actor=get_user(officer), reason="Nhầm")
    assert (p.rating_avg, p.rating_count) == (3.33, 3)


def test_no_reviews_means_no_average(ctx, unit, product):
    assert services.unit_rating(unit.id) == (None, 0)
    p = services.recompute_product_rating(product.id)
    assert (p.rating_avg, p.rating_count) == (None, 0)


def test_product_reviews_are_newest_first_and_paged(ctx, make_order, make_user, unit, product):
    buyers = [make_user() for _ in range(3)]
    orders = [make_order(unit, b, [(product, 1)]) for b in buyers]
    ids = [review(order.line_ids[0], b).id for order, b in zip(orders, buyers, strict=True)]
    page = services.product_reviews(product.id, page=1, per_page=2)
    assert [r.id for r in page.items] == ids[::-1][:2]
    assert page.pages == 2


def test_public_name_is_the_given_name(ctx, buyer):
    assert services.public_name(get_user(buyer)) == "An"


def test_reviewable_orders_lists_lines_with_their_reviews(ctx, delivered, buyer, make_user):
    stranger = make_user()
    r = review(delivered.line_ids[0], buyer)
    purchase = db.session.get(Purchase, delivered.purchase_id)
    [(order, lines)] = services.reviewable_orders(purchase, buyer=get_user(buyer))
    assert services.is_reviewable(order)
    assert lines == [(get_line(delivered.line_ids[0]), r)]
    with pytest.raises(PermissionDenied):
        services.reviewable_orders(purchase, buyer=get_user(stranger))


# ---------------------------------------------------------------- replies


def test_staff_reply_once_and_may_change_it(ctx, delivered, buyer, owner):
    r = review(delivered.line_ids[0], buyer)
    services.reply_to_review(r, actor=get_user(owner), text=" Cảm ơn anh! ")
    assert r.reply == "Cảm ơn anh!"
    first = r.replied_at
    services.reply_to_review(r, actor=get_user(owner), text="Cảm ơn anh, hẹn gặp lại.")
    assert r.reply == "Cảm ơn anh, hẹn gặp lại."
    assert r.replied_at >= first


def test_only_the_units_staff_may_reply(ctx, delivered, buyer, make_unit, make_staff, officer):
    staff_of_other = make_staff(make_unit())
    r = review(delivered.line_ids[0], buyer)
    for outsider in (staff_of_other, buyer, officer):
        with pytest.raises(PermissionDenied):
            services.reply_to_review(r, actor=get_user(outsider), text="Xin chào")
    assert r.reply is None


def test_an_empty_reply_is_refused(ctx, delivered, buyer, owner):
    r = review(delivered.line_ids[0], buyer)
    exc = error_of(lambda: services.reply_to_review(r, actor=get_user(owner), text="   "))
    assert exc.field == "reply"


# ---------------------------------------------------------------- reports and moderation


def test_anyone_logged_in_may_report_once_with_a_reason(ctx, delivered, buyer, make_user):
    reporter, second = make_user(), make_user()
    r = review(delivered.line_ids[0], buyer)
    reporter = get_user(reporter)
    exc = error_of(lambda: services.report_review(r, actor=reporter, reason=""))
    assert exc.field == "reason"
    assert r.reported_at is None
    assert services.report_review(r, actor=reporter, reason="Quảng cáo") is True
    assert (r.report_reason, r.reported_at is not None) == ("Quảng cáo", True)
    assert services.report_review(r, actor=get_user(second), reason="Khác") is False
    assert r.report_reason == "Quảng cáo"


def test_moderation_queue_is_by_province(ctx, delivered, buyer, make_unit, make_order, make_product, make_user):
    far_unit = make_unit(ward_code=FAR_WARD)  # a ward of Hồ Chí Minh City
    far_buyer = make_user()
    far_order = make_order(far_unit, far_buyer, [(make_product(far_unit), 1)])
    r = review(delivered.line_ids[0], buyer)
    services.report_review(r, actor=get_user(buyer), reason="Sai")
    far = review(far_order.line_ids[0], far_buyer)
    services.report_review(far, actor=get_user(far_buyer), reason="Sai")

    def waiting(scope):
        return [x.id for x in db.session.scalars(services.moderation_query(scope, hidden=False))]

    assert far_unit.province_code != 86
    assert waiting(86) == [r.id]
    assert waiting(far_unit.province_code) == [far.id]
    assert sorted(waiting(None)) == sorted([r.id, far.id])


def test_officer_of_the_province_hides_and_unhides(ctx, delivered, buyer, officer, product):
    r = review(delivered.line_ids[0], buyer)
    services.report_review(r, actor=get_user(buyer), reason="Spam")
    exc = error_of(lambda: services.hide_review(r, actor=get_user(officer), reason=" "))
    assert exc.field == "reason"
    services.hide_review(r, actor=get_user(officer), reason="Nội dung quảng cáo")
    assert (r.hidden_by_id, r.hidden_reason) == (officer.id, "Nội dung quảng cáo")
    assert services.product_reviews(product.id).items == []
    assert list(db.session.scalars(services.moderation_query(86, hidden=True))) == [r]
    assert list(db.session.scalars(services.moderation_query(86, hidden=False))) == []
    assert "already hidden" in error_of(lambda: services.hide_review(r, actor=get_user(officer), reason="x")).message

    services.unhide_review(r, actor=get_user(officer), reason="Xem lại: hợp lệ")
    assert (r.hidden_at, r.reported_at) == (None, None)
    assert services.product_reviews(product.id).items == [r]
    assert "not hidden" in error_of(lambda: services.unhide_review(r, actor=get_user(officer), reason="x")).message


def test_any_review_may_be_hidden_even_unreported(ctx, delivered, buyer, make_user):
    admin = make_user("admin")
    r = review(delivered.line_ids[0], buyer)
    services.hide_review(r, actor=get_user(admin), reason="Trùng lặp")
    assert r.hidden_at is not None


def test_officer_of_another_province_or_staff_cannot_hide(ctx, delivered, buyer, other_officer, owner):
    r = review(delivered.line_ids[0], buyer)
    for actor in (other_officer, owner, buyer):
        with pytest.raises(PermissionDenied):
            services.hide_review(r, actor=get_user(actor), reason="x")
    assert r.hidden_at is None


def test_dismissing_a_report_keeps_the_review(ctx, delivered, buyer, officer, other_officer):
    r = review(delivered.line_ids[0], buyer)
    services.report_review(r, actor=get_user(buyer), reason="Sai")
    with pytest.raises(PermissionDenied):
        services.dismiss_report(r, actor=get_user(other_officer), reason="x")
    services.dismiss_report(r, actor=get_user(officer), reason="Đánh giá hợp lệ")
    assert (r.reported_at, r.hidden_at) == (None, None)
    assert "not waiting" in error_of(lambda: services.dismiss_report(r, actor=get_user(officer), reason="x")).message


def test_a_hidden_review_cannot_be_reported(ctx, delivered, buyer, officer):
    r = review(delivered.line_ids[0], buyer)
    services.hide_review(r, actor=get_user(officer), reason="x")
    assert "already hidden" in error_of(lambda: services.report_review(r, actor=get_user(buyer), reason="y")).message
