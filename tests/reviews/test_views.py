"""Review pages: what each person sees and may post, and what a refused POST leaves unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form

pytestmark = pytest.mark.core


def stored_reviews(app) -> list[tuple]:
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    with app.app_context():
        rows = db.session.execute(
            select(
                Review.order_line_id,
                Review.product_rating,
                Review.unit_rating,
                Review.text,
                Review.reply,
                Review.reported_at.is_not(None),
                Review.hidden_at.is_not(None),
            ).order_by(Review.id)
        ).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def product_rating(app, product_id) -> tuple:
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db

    with app.app_context():
        p = db.session.get(Product, product_id)
        result = (p.rating_avg, p.rating_count)
        db.session.remove()
    return result


def review_form(line_id, product_rating="5", unit_rating="4", text="Bưởi ngọt, giao nhanh") -> dict:
    prefix = f"line-{line_id}-"
    return {f"{prefix}product_rating": product_rating, f"{prefix}unit_rating": unit_rating, f"{prefix}text": text}


@pytest.fixture
def reviewed(app, client, login, delivered, buyer):
    """The delivered line reviewed through the page; returns the review id (client logged out again)."""
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    login(client, buyer)
    line = delivered.line_ids[0]
    assert post_form(client, f"/reviews/lines/{line}/new", review_form(line)).status_code == 302
    post_form(client, "/account/logout")
    with app.app_context():
        review_id = db.session.scalar(select(Review.id))
        db.session.remove()
    return review_id


def report(app, review_id, reason="Spam"):
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    with app.app_context():
        r = db.session.get(Review, review_id)
        r.reported_at = func.now()
        r.report_reason = reason
        db.session.commit()
        db.session.remove()


# ---------------------------------------------------------------- the buyer's purchase page


def test_buyer_reviews_a_delivered_line_from_the_purchase_page(app, client, login, delivered, buyer, product):
    login(client, buyer)
    page = client.get(f"/reviews/orders/{delivered.number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bưởi da xanh" in html
    assert f'name="line-{delivered.line_ids[0]}-product_rating"' in html

    line = delivered.line_ids[0]
    response = post_form(client, f"/reviews/lines/{line}/new", review_form(line, text="Bu\u031bo\u031b\u0309i ngon"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.endswith(f"/reviews/orders/{delivered.number}")
    assert stored_reviews(app) == [(line, 5, 4, "Bưởi ngon", None, False, False)]
    assert product_rating(app, product.id) == (5.0, 1)

    html = client.get(f"/reviews/orders/{delivered.number}").get_data(as_text=True)
    assert "Your review" in html
    assert f'name="line-{line}-product_rating"' not in html  # no second form


def test_a_second_review_of_the_line_is_refused(app, client, login, reviewed, delivered, buyer):
    login(client, buyer)
    line = delivered.line_ids[0]
    response = post_form(client, f"/reviews/lines/{line}/new", review_form(line, "1", "1"))
    assert response.status_code == 422
    assert "already reviewed" in response.get_data(as_text=True)
    assert [r[1] for r in stored_reviews(app)] == [5]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"product_rating": "0"}, "Choose from 1 to 5 stars."),
        ({"unit_rating": "6"}, "Choose from 1 to 5 stars."),
        ({"unit_rating": "abc"}, "Choose from 1 to 5 stars."),
        ({"product_rating": None}, "Choose from 1 to 5 stars."),
        ({"text": "x" * 2001}, "2000"),
    ],
)
def test_bad_review_input_is_refused_beside_its_field(app, client, login, delivered, buyer, data, message):
    login(client, buyer)
    line = delivered.line_ids[0]
    form = review_form(line, **{k: v for k, v in data.items() if v is not None})
    for k, v in data.items():
        if v is None:
            del form[f"line-{line}-{k}"]
    response = post_form(client, f"/reviews/lines/{line}/new", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert stored_reviews(app) == []


def test_an_undelivered_order_shows_no_form_and_refuses_a_post(app, client, login, make_order, unit, buyer, product):
    from ktt_market.orders.models import OrderStatus

    order = make_order(unit, buyer, [(product, 1)], status=OrderStatus.SHIPPED)
    login(client, buyer)
    html = client.get(f"/reviews/orders/{order.number}").get_data(as_text=True)
    assert "once the order has been delivered" in html
    assert "product_rating" not in html
    line = order.line_ids[0]
    response = post_form(client, f"/reviews/lines/{line}/new", review_form(line))
    assert response.status_code == 422
    assert "once the order has been delivered" in response.get_data(as_text=True)
    assert stored_reviews(app) == []


def test_another_buyer_cannot_see_or_review_the_purchase(app, client, login, delivered, make_user):
    login(client, make_user())
    assert client.get(f"/reviews/orders/{delivered.number}").status_code == 404
    line = delivered.line_ids[0]
    assert post_form(client, f"/reviews/lines/{line}/new", review_form(line)).status_code == 404
    assert client.get("/reviews/orders/KTT-NOPE").status_code == 404
    assert post_form(client, "/reviews/lines/999999/new", review_form(999999)).status_code == 404
    assert stored_reviews(app) == []


def test_review_post_without_csrf_is_refused(app, client, login, delivered, buyer):
    login(client, buyer)
    line = delivered.line_ids[0]
    response = client.post(f"/reviews/lines/{line}/new", data=review_form(line))
    assert response.status_code == 400
    assert stored_reviews(app) == []


def test_visitors_are_sent_to_login(client, delivered):
    response = client.get(f"/reviews/orders/{delivered.number}")
    assert response.status_code == 302
    assert "/account/login" in response.location


# ---------------------------------------------------------------- the public list


def test_public_list_shows_visible_reviews_with_replies(app, client, reviewed, product, owner, login):
    login(client, owner)
    assert (
        post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": "Cảm ơn anh!"}).status_code == 302
    )
    post_form(client, "/account/logout")
    page = client.get(f"/reviews/products/{product.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bưởi ngọt, giao nhanh" in html
    assert "Cảm ơn anh!" in html
    assert ">An<" in html  # the buyer's given name only
    assert "Nguyễn Văn An" not in html
    assert "5.0" in html
    assert "Report this review" not in html  # visitors cannot report


def test_unpublished_or_unknown_products_have_no_review_page(app, client, make_product, unit):
    hidden = make_product(unit, published=False)
    assert client.get(f"/reviews/products/{hidden.id}").status_code == 404
    assert client.get("/reviews/products/999999").status_code == 404


def test_product_partial_renders_for_the_product_page(app, reviewed, product):
    from flask import render_template
    from flask_babel import force_locale

    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db
    from ktt_market.reviews.services import product_reviews

    with app.test_request_context(), force_locale("en"):
        p = db.session.get(Product, product.id)
        html = render_template("reviews/_product_reviews.html", product=p, reviews=product_reviews(p.id).items)
        db.session.remove()
    assert "Bưởi ngọt, giao nhanh" in html
    assert "1 review" in html


# ---------------------------------------------------------------- reports


def test_logged_in_user_reports_a_review_with_a_reason(app, client, login, reviewed, product, make_user):
    login(client, make_user())
    assert "Report this review" in client.get(f"/reviews/products/{product.id}").get_data(as_text=True)
    assert client.get(f"/reviews/{reviewed}/report").status_code == 200
    response = post_form(client, f"/reviews/{reviewed}/report", {"reason": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert stored_reviews(app)[0][5] is False
    response = post_form(client, f"/reviews/{reviewed}/report", {"reason": "Nội dung quảng cáo"})
    assert response.status_code == 302
    assert stored_reviews(app)[0][5] is True


def test_report_needs_login_and_a_csrf_token(app, client, login, reviewed, make_user):
    response = post_form(client, f"/reviews/{reviewed}/report", {"reason": "x"})
    assert response.status_code == 302 and "/account/login" in response.location
    login(client, make_user())
    assert client.post(f"/reviews/{reviewed}/report", data={"reason": "x"}).status_code == 400
    assert stored_reviews(app)[0][5] is False


# ---------------------------------------------------------------- the cooperative


def test_staff_see_their_reviews_and_reply(app, client, login, reviewed, unit, owner):
    login(client, owner)
    page = client.get(f"/reviews/units/{unit.id}/")
    assert page.status_code == 200
    assert "Bưởi ngọt, giao nhanh" in page.get_data(as_text=True)
    response = post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": ""})
    assert response.status_code == 422
    assert stored_reviews(app)[0][4] is None
    response = post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": "Cảm ơn!"})
    assert response.status_code == 302
    response = post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": "Cảm ơn anh nhiều!"})
    assert response.status_code == 302
    assert stored_reviews(app)[0][4] == "Cảm ơn anh nhiều!"
    assert "Change the reply" in client.get(f"/reviews/units/{unit.id}/").get_data(as_text=True)


def test_staff_of_another_unit_cannot_see_or_reply(app, client, login, reviewed, unit, make_unit, make_staff):
    login(client, make_staff(make_unit()))
    assert client.get(f"/reviews/units/{unit.id}/").status_code == 404
    response = post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": "Hi"})
    assert response.status_code == 404
    assert stored_reviews(app)[0][4] is None


def test_buyer_and_officer_cannot_reply(app, client, login, reviewed, unit, buyer, officer):
    for user in (buyer, officer):
        login(client, user)
        assert client.get(f"/reviews/units/{unit.id}/").status_code == 404
        assert post_form(client, f"/reviews/{reviewed}/reply", {f"review-{reviewed}-reply": "x"}).status_code == 404
        post_form(client, "/account/logout")
    assert stored_reviews(app)[0][4] is None


# ---------------------------------------------------------------- moderation


def test_officer_hides_and_unhides_a_reported_review(app, client, login, reviewed, product, officer):
    report(app, reviewed)
    login(client, officer)
    queue = client.get("/reviews/moderation")
    assert queue.status_code == 200
    assert "Bưởi ngọt, giao nhanh" in queue.get_data(as_text=True)

    response = post_form(client, f"/reviews/{reviewed}/hide", {f"review-{reviewed}-reason": ""})
    assert response.status_code == 422
    assert stored_reviews(app)[0][6] is False

    response = post_form(client, f"/reviews/{reviewed}/hide", {f"review-{reviewed}-reason": "Quảng cáo"})
    assert response.status_code == 302
    assert stored_reviews(app)[0][6] is True
    assert product_rating(app, product.id) == (None, 0)
    assert "Bưởi ngọt" not in client.get(f"/reviews/products/{product.id}").get_data(as_text=True)
    assert "Bưởi ngọt" not in client.get("/reviews/moderation").get_data(as_text=True)
    assert "Bưởi ngọt" in client.get("/reviews/moderation?show=hidden").get_data(as_text=True)

    response = post_form(client, f"/reviews/{reviewed}/unhide", {f"review-{reviewed}-reason": "Hợp lệ"})
    assert response.status_code == 302
    assert stored_reviews(app)[0][5:] == (False, False)
    assert product_rating(app, product.id) == (5.0, 1)


def test_officer_dismisses_a_report(app, client, login, reviewed, officer):
    report(app, reviewed)
    login(client, officer)
    response = post_form(client, f"/reviews/{reviewed}/dismiss", {f"review-{reviewed}-reason": "Hợp lệ"})
    assert response.status_code == 302
    assert stored_reviews(app)[0][5:] == (False, False)


def test_officer_of_another_province_sees_nothing_and_cannot_hide(app, client, login, reviewed, other_officer):
    report(app, reviewed)
    login(client, other_officer)
    assert "Bưởi ngọt" not in client.get("/reviews/moderation").get_data(as_text=True)
    for verb in ("hide", "unhide", "dismiss"):
        response = post_form(client, f"/reviews/{reviewed}/{verb}", {f"review-{reviewed}-reason": "x"})
        assert response.status_code == 404
    assert stored_reviews(app)[0][5:] == (True, False)


def test_buyers_and_staff_cannot_moderate(app, client, login, reviewed, buyer, owner):
    report(app, reviewed)
    for user in (buyer, owner):
        login(client, user)
        assert client.get("/reviews/moderation").status_code == 403
        response = post_form(client, f"/reviews/{reviewed}/hide", {f"review-{reviewed}-reason": "x"})
        assert response.status_code in (403, 404)
        post_form(client, "/account/logout")
    assert stored_reviews(app)[0][6] is False


def test_admin_moderates_everywhere(app, client, login, reviewed, make_user):
    report(app, reviewed)
    login(client, make_user("admin"))
    assert "Bưởi ngọt" in client.get("/reviews/moderation").get_data(as_text=True)
    response = post_form(client, f"/reviews/{reviewed}/hide", {f"review-{reviewed}-reason": "x"})
    assert response.status_code == 302


def test_hide_without_csrf_is_refused(app, client, login, reviewed, officer):
    login(client, officer)
    response = client.post(f"/reviews/{reviewed}/hide", data={f"review-{reviewed}-reason": "x"})
    assert response.status_code == 400
    assert stored_reviews(app)[0][6] is False


def test_review_text_is_escaped_and_keeps_its_lines(app, client, login, delivered, buyer, product):
    login(client, buyer)
    line = delivered.line_ids[0]
    text = "<script>alert(1)</script>\nDòng hai"
    assert post_form(client, f"/reviews/lines/{line}/new", review_form(line, text=text)).status_code == 302
    html = client.get(f"/reviews/products/{product.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>Dòng hai" in html
