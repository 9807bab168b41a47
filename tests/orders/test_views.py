"""Order pages: the buyer's purchases, the cooperative's orders, who may see and move what, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ktt_market.extensions import db
from ktt_market.orders.models import Order, OrderEvent, OrderStatus
from tests.conftest import post_form

from .conftest import page

pytestmark = pytest.mark.core


@pytest.fixture
def bought(app, buyer, products, place, coops):
    """The buyer's purchase: pomelo ×2 and rice ×5 from HTX A, coconut ×1 from HTX B."""
    number = place(buyer, {products["pomelo"]: 2, products["rice"]: 5, products["coconut"]: 1})
    with app.app_context():
        orders = {o.unit_id: o.id for o in db.session.scalars(select(Order))}
    return {"number": number, "a": orders[coops[0].id], "b": orders[coops[1].id]}


def status(app, order_id) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order_id).status


def events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OrderEvent))


def staff_url(coops, bought, suffix="", unit=0, order="a") -> str:
    return f"/orders/units/{coops[unit].id}/{bought[order]}{suffix}"


# ---------------------------------------------------------------- the buyer


def test_buyer_sees_purchases_newest_first(app, client, login, buyer, products, place, bought):
    later = place(buyer, {products["pomelo"]: 1})
    login(client, buyer)
    html = page(client.get("/orders"))
    assert html.index(later) < html.index(bought["number"])
    detail = page(client.get(f"/orders/{bought['number']}"))
    assert "HTX Bưởi Trà Vinh" in detail and "HTX Dừa Bến Tre" in detail
    assert "Bưởi da xanh" in detail and "Gạo ST25" in detail and "Dừa sáp" in detail
    assert "Cancel this order" in detail
    assert "Phường Trà Vinh" in detail


def test_another_buyer_gets_404(app, client, login, make_user, bought):
    login(client, make_user())
    assert client.get(f"/orders/{bought['number']}").status_code == 404
    assert bought["number"] not in page(client.get("/orders"))
    response = post_form(client, f"/orders/{bought['number']}/{bought['a']}/cancel")
    assert response.status_code == 404
    assert status(app, bought["a"]) is OrderStatus.PLACED
    assert client.get("/orders/KTT-NOTHING1").status_code == 404


def test_order_id_must_belong_to_the_purchase(app, client, login, buyer, products, place, bought):
    other = place(buyer, {products["pomelo"]: 1})
    login(client, buyer)
    response = post_form(client, f"/orders/{other}/{bought['a']}/cancel")
    assert response.status_code == 404
    assert status(app, bought["a"]) is OrderStatus.PLACED


def test_buyer_cancels_one_order_and_its_stock_returns(app, client, login, buyer, products, bought, stock_of):
    login(client, buyer)
    response = post_form(client, f"/orders/{bought['number']}/{bought['a']}/cancel", {"reason": "Đặt nhầm"})
    assert response.status_code == 302
    assert status(app, bought["a"]) is OrderStatus.CANCELLED
    assert status(app, bought["b"]) is OrderStatus.PLACED  # the other cooperative's part goes on
    assert stock_of(products["pomelo"]) == 10 and stock_of(products["rice"]) == 100
    assert stock_of(products["coconut"]) == 2
    html = page(client.get(f"/orders/{bought['number']}"))
    assert "Đặt nhầm" in html and "Cancelled" in html


def test_buyer_cannot_cancel_after_confirmation(app, client, login, buyer, staff_a, coops, bought):
    login(client, staff_a)
    post_form(client, staff_url(coops, bought, "/confirm"))
    post_form(client, "/account/logout")
    login(client, buyer)
    before = events(app)
    response = post_form(client, f"/orders/{bought['number']}/{bought['a']}/cancel")
    assert response.status_code == 422
    assert "This order is “Confirmed”: it can no longer be cancelled." in page(response)
    assert status(app, bought["a"]) is OrderStatus.CONFIRMED
    assert events(app) == before


def test_buyer_cannot_confirm(app, client, login, buyer, coops, bought):
    login(client, buyer)
    for suffix in ("/confirm", "/deliver", "/reject", "/ship"):
        response = post_form(client, staff_url(coops, bought, suffix), {"reason": "x", "carrier": "x"})
        assert response.status_code == 404
    assert client.get(staff_url(coops, bought)).status_code == 404
    assert status(app, bought["a"]) is OrderStatus.PLACED


def test_visitors_are_sent_to_log_in(client, coops, bought):
    for url in ("/orders", f"/orders/{bought['number']}", staff_url(coops, bought), "/orders/units"):
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.location


# ---------------------------------------------------------------- the cooperative


def test_staff_sees_only_its_orders_and_filters_by_status(app, client, login, staff_a, coops, bought):
    login(client, staff_a)
    html = page(client.get(f"/orders/units/{coops[0].id}/incoming"))
    assert bought["number"] in html and "Nguyễn Thị Lan" in html
    assert bought["number"] in page(client.get(f"/orders/units/{coops[0].id}/incoming?status=placed"))
    assert bought["number"] not in page(client.get(f"/orders/units/{coops[0].id}/incoming?status=shipped"))
    assert client.get(f"/orders/units/{coops[0].id}/incoming?status=nonsense").status_code == 200
    detail = page(client.get(staff_url(coops, bought)))
    assert "Bưởi da xanh" in detail and "Dừa sáp" not in detail  # only its own part of the purchase
    assert "0912345678" in detail
    units = page(client.get("/orders/units"))
    assert "HTX Bưởi Trà Vinh" in units and "1 waiting for confirmation" in units
    assert "HTX Dừa Bến Tre" not in units


def test_staff_of_another_unit_gets_404(app, client, login, staff_b, coops, bought):
    login(client, staff_b)
    before = events(app)
    assert client.get(f"/orders/units/{coops[0].id}/incoming").status_code == 404
    for suffix in ("", "/packing-slip"):
        assert client.get(staff_url(coops, bought, suffix)).status_code == 404
        # Its own unit id with A's order id is no way in either.
        assert client.get(staff_url(coops, bought, suffix, unit=1)).status_code == 404
    for suffix in ("/confirm", "/reject", "/ship", "/deliver"):
        data = {"reason": "x", "carrier": "x", "tracking_code": "x"}
        assert post_form(client, staff_url(coops, bought, suffix), data).status_code == 404
        assert post_form(client, staff_url(coops, bought, suffix, unit=1), data).status_code == 404
    assert status(app, bought["a"]) is OrderStatus.PLACED
    assert events(app) == before


def test_staff_takes_an_order_to_delivery(app, client, login, staff_a, coops, bought):
    login(client, staff_a)
    assert post_form(client, staff_url(coops, bought, "/confirm")).status_code == 302
    assert status(app, bought["a"]) is OrderStatus.CONFIRMED
    # Shipping needs the carrier and the tracking code.
    response = post_form(client, staff_url(coops, bought, "/ship"), {"carrier": "GHN", "tracking_code": ""})
    assert response.status_code == 422 and "Enter the tracking code." in page(response)
    assert status(app, bought["a"]) is OrderStatus.CONFIRMED
    response = post_form(client, staff_url(coops, bought, "/ship"), {"carrier": "GHN", "tracking_code": "GHN123"})
    assert response.status_code == 302
    # Cash on delivery: the cooperative confirms it holds the cash (payments area).
    assert post_form(client, staff_url(coops, bought, "/deliver"), {"cash_received": "y"}).status_code == 302
    assert status(app, bought["a"]) is OrderStatus.DELIVERED
    html = page(client.get(staff_url(coops, bought)))
    assert "GHN123" in html and "Trần Văn Bưởi" in html  # history: who did it
    with app.app_context():
        steps = db.session.scalars(
            select(OrderEvent.to_status).where(OrderEvent.order_id == bought["a"]).order_by(OrderEvent.id)
        ).all()
    assert steps == [OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


def test_invalid_move_says_so_and_changes_nothing(app, client, login, staff_a, coops, bought):
    login(client, staff_a)
    before = events(app)
    response = post_form(client, staff_url(coops, bought, "/deliver"))  # not shipped yet
    assert response.status_code == 422
    assert "This order is “Placed”: it cannot become “Delivered”." in page(response)
    assert status(app, bought["a"]) is OrderStatus.PLACED
    assert events(app) == before


def test_reject_needs_a_reason_the_buyer_then_sees(
    app, client, login, buyer, staff_a, coops, bought, products, stock_of
):
    login(client, staff_a)
    response = post_form(client, staff_url(coops, bought, "/reject"), {"reason": ""})
    assert response.status_code == 422 and "Give a reason: the buyer will see it." in page(response)
    assert status(app, bought["a"]) is OrderStatus.PLACED
    response = post_form(client, staff_url(coops, bought, "/reject"), {"reason": "Bưởi chưa đến mùa"})
    assert response.status_code == 302
    assert status(app, bought["a"]) is OrderStatus.CANCELLED
    assert stock_of(products["pomelo"]) == 10
    post_form(client, "/account/logout")
    login(client, buyer)
    assert "Bưởi chưa đến mùa" in page(client.get(f"/orders/{bought['number']}"))


def test_packing_slip(app, client, login, staff_a, coops, bought):
    login(client, staff_a)
    html = page(client.get(staff_url(coops, bought, "/packing-slip")))
    assert bought["number"] in html
    assert "Nguyễn Thị Lan" in html and "0912345678" in html
    assert "12 Nguyễn Đáng" in html and "Phường Trà Vinh" in html
    assert "Bưởi da xanh" in html and "Gạo ST25" in html


def test_moves_need_csrf(app, client, login, staff_a, coops, bought):
    login(client, staff_a)
    response = client.post(staff_url(coops, bought, "/confirm"))
    assert response.status_code == 400
    assert status(app, bought["a"]) is OrderStatus.PLACED


def test_my_orders_links_staff_to_their_units(client, login, staff_a, coops):
    login(client, staff_a)
    html = page(client.get("/orders"))
    assert f"/orders/units/{coops[0].id}/incoming" in html
    assert "You have not ordered anything yet." in html
