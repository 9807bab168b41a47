"""Checkout: the form, one purchase split per cooperative, the one-time key, and stock that runs out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ktt_market.extensions import db
from ktt_market.orders.models import CartItem, Order, OrderEvent, OrderStatus, Purchase
from tests.conftest import post_form

from .conftest import OTHER_WARD, PROVINCE, WARD, checkout_key, expected_total, page

pytestmark = pytest.mark.core


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def form_data(html: str, **fields) -> dict:
    data = {
        "contact_name": "Nguyễn Thị Lan",
        "phone": "+84 912 345 678",
        "ward_code": str(WARD),
        "street": "12 Nguyễn Đáng",
        "note": "Giao giờ hành chính",
        "payment_method": "cod",
        "idempotency_key": checkout_key(html),
        "expected_total": expected_total(html),
    }
    data.update(fields)
    return data


@pytest.fixture
def ready(client, login, buyer, products, fill_cart):
    """The buyer, logged in, with pomelo ×2 and rice ×10 (HTX A) and coconut ×1 (HTX B) in the cart."""
    fill_cart(buyer, {products["pomelo"]: 2, products["rice"]: 10, products["coconut"]: 1})
    login(client, buyer)
    return client


def open_checkout(client) -> str:
    response = client.get(f"/checkout?province={PROVINCE}")
    assert response.status_code == 200
    return page(response)


def test_checkout_makes_one_purchase_split_per_cooperative(app, ready, buyer, products, coops, stock_of):
    html = open_checkout(ready)
    assert "Nguyễn Thị Lan" in html  # filled in from the account
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html))
    assert response.status_code == 302
    with app.app_context():
        purchase = db.session.scalar(select(Purchase))
        assert response.location.endswith(f"/orders/{purchase.number}")
        assert purchase.number.startswith("KTT-") and len(purchase.number) == 12
        assert purchase.buyer_id == buyer.id
        assert purchase.phone == "0912345678"  # normalised
        assert (purchase.province_code, purchase.ward_code) == (PROVINCE, WARD)
        assert purchase.total_vnd == 120_000 + 250_000 + 80_000
        orders = {o.unit_id: o for o in purchase.orders}
        assert set(orders) == {coops[0].id, coops[1].id}
        assert orders[coops[0].id].subtotal_vnd == 370_000
        assert orders[coops[1].id].subtotal_vnd == 80_000
        assert all(o.status is OrderStatus.PLACED and o.expires_at is None for o in orders.values())
        lines = {
            line.product_name: (line.quantity, line.unit_price_vnd, line.line_total_vnd)
            for line in orders[coops[0].id].lines
        }
        assert lines == {"Bưởi da xanh": (2, 60_000, 120_000), "Gạo ST25": (10, 25_000, 250_000)}
        events = db.session.scalars(select(OrderEvent)).all()
        assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [(None, OrderStatus.PLACED, buyer.id)] * 2
        assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0
    assert (stock_of(products["pomelo"]), stock_of(products["rice"]), stock_of(products["coconut"])) == (8, 90, 2)
    shown = page(ready.get(response.location))
    assert "HTX Bưởi Trà Vinh" in shown and "HTX Dừa Bến Tre" in shown and "Placed" in shown
    assert "Your order is split into 2 parts" in shown


def test_same_form_twice_makes_one_purchase(app, ready):
    html = open_checkout(ready)
    data = form_data(html)
    first = post_form(ready, f"/checkout?province={PROVINCE}", data)
    second = post_form(ready, f"/checkout?province={PROVINCE}", data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert count(app, Purchase) == 1
    assert count(app, Order) == 2
    assert "was already placed" in page(ready.get(second.location))


def test_same_key_twice_through_the_service_returns_the_first(app, buyer, products, fill_cart, ctx):
    from ktt_market.accounts.models import User
    from ktt_market.orders.cart import cart_for_user
    from ktt_market.orders.checkout import place_purchase

    from .conftest import details

    fill_cart(buyer, {products["pomelo"]: 1})
    actor = db.session.get(User, buyer.id)
    first = place_purchase(cart_for_user(buyer.id), actor=actor, details=details(), idempotency_key="k" * 40)
    db.session.commit()
    fill_cart(buyer, {products["pomelo"]: 1})  # even with something in the cart again
    again = place_purchase(cart_for_user(buyer.id), actor=actor, details=details(), idempotency_key="k" * 40)
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1


@pytest.mark.parametrize("phone", ["12345", "0112345678", "091234567", "phone"])
def test_phone_must_be_vietnamese(app, ready, phone, stock_of, products):
    html = open_checkout(ready)
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html, phone=phone))
    assert response.status_code == 422
    assert "Enter a Vietnamese phone number" in page(response)
    assert count(app, Purchase) == 0
    assert stock_of(products["pomelo"]) == 10


def test_ward_must_belong_to_the_province(app, ready):
    html = open_checkout(ready)
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html, ward_code=str(OTHER_WARD)))
    assert response.status_code == 422
    assert "This ward is not in" in page(response)
    assert count(app, Purchase) == 0


def test_unknown_ward_and_missing_fields(app, ready):
    html = open_checkout(ready)
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html, ward_code="1", street=""))
    assert response.status_code == 422
    body = page(response)
    assert "Choose a ward from the list." in body
    assert "This field is required." in body
    assert count(app, Purchase) == 0


def test_province_step_lists_its_wards(ready):
    html = page(ready.get("/checkout"))
    assert "First choose the province of the delivery address." in html
    html = open_checkout(ready)
    assert "Phường Trà Vinh" in html


def test_insufficient_stock_says_which_product_and_takes_nothing(app, ready, products, stock_of):
    from ktt_market.catalog.models import Product

    html = open_checkout(ready)
    with app.app_context():  # someone else bought coconuts meanwhile
        db.session.get(Product, products["coconut"].id).stock = 0
        db.session.get(Product, products["rice"].id).stock = 7
        db.session.commit()
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html))
    assert response.status_code == 422
    assert "Only 7 of Gạo ST25 left: lower the quantity in your cart." in page(response)
    assert count(app, Purchase) == 0
    assert stock_of(products["pomelo"]) == 10  # taken first, given back by the rollback
    assert stock_of(products["rice"]) == 7
    assert count(app, CartItem) == 3  # the cart stays


def test_sold_out_product_is_named(app, ready, products, stock_of):
    from ktt_market.catalog.models import Product

    html = open_checkout(ready)
    with app.app_context():
        db.session.get(Product, products["coconut"].id).stock = 0
        db.session.commit()
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html))
    assert response.status_code == 422
    assert "Dừa sáp is sold out: remove it from your cart." in page(response)
    assert stock_of(products["pomelo"]) == 10 and stock_of(products["rice"]) == 100


def test_price_change_before_the_click_is_caught(app, ready, products, stock_of):
    from ktt_market.catalog.models import Product

    html = open_checkout(ready)
    with app.app_context():
        db.session.get(Product, products["pomelo"].id).price_vnd = 65_000
        db.session.commit()
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html))
    assert response.status_code == 422
    assert "Prices changed since you opened this page." in page(response)
    assert count(app, Purchase) == 0 and stock_of(products["pomelo"]) == 10
    # The page now shows the new total; sending it again goes through at the new price.
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(page(response)))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Purchase.total_vnd)) == 130_000 + 250_000 + 80_000


def test_visitor_is_sent_to_log_in_and_comes_back_with_the_cart(app, client, english, buyer, products):
    english(client)
    post_form(client, "/cart/add", {"product_id": products["pomelo"].id, "quantity": 2})
    response = client.get("/checkout")
    assert response.status_code == 302 and "/account/login" in response.location
    response = post_form(client, response.location, {"email": buyer.email, "password": "mat-khau-an-toan"})
    assert response.status_code == 302 and response.location.endswith("/checkout")
    html = page(client.get(f"/checkout?province={PROVINCE}"))
    assert "Bưởi da xanh" in html
    assert post_form(client, f"/checkout?province={PROVINCE}", form_data(html)).status_code == 302
    assert count(app, Purchase) == 1


def test_empty_cart_goes_back_to_the_cart(client, login, buyer):
    login(client, buyer)
    response = client.get("/checkout")
    assert response.status_code == 302 and response.location.endswith("/cart")


def test_form_without_its_key_is_refused(app, ready):
    html = open_checkout(ready)
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html, idempotency_key=""))
    assert response.status_code == 422
    assert "This checkout form has expired" in page(response)
    assert count(app, Purchase) == 0


def test_checkout_needs_csrf(app, ready):
    html = open_checkout(ready)
    response = ready.post(f"/checkout?province={PROVINCE}", data=form_data(html))
    assert response.status_code == 400
    assert count(app, Purchase) == 0


def test_purchase_numbers_avoid_ambiguous_characters(ctx):
    from ktt_market.orders.checkout import new_purchase_number

    for _ in range(200):
        number = new_purchase_number()
        assert number.startswith("KTT-") and not set(number[4:]) & set("0O1IL")


def test_pending_payment_method_sets_a_deadline(app, buyer, products, place, monkeypatch):
    from ktt_market.orders.models import OrderStatus, PaymentMethod
    from ktt_market.orders.payments import (
        PaymentOption,
        payment_option,
        register_payment_method,
        unregister_payment_method,
    )

    class FakeTransfer(PaymentOption):
        code = PaymentMethod.BANK_TRANSFER
        label = "Bank transfer"

    real = payment_option(PaymentMethod.BANK_TRANSFER)
    register_payment_method(FakeTransfer())
    try:
        place(buyer, {products["pomelo"]: 1}, payment_method="bank_transfer")
    finally:
        # Put back the real method (registered by the payments area), so later tests see the app as it is.
        if real is not None:
            register_payment_method(real)
        else:
            unregister_payment_method(PaymentMethod.BANK_TRANSFER)
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status is OrderStatus.PENDING_PAYMENT
        minutes = (order.expires_at - order.placed_at).total_seconds() / 60
        assert minutes == 60


def test_unoffered_payment_method_is_refused(app, ready):
    html = open_checkout(ready)
    response = post_form(ready, f"/checkout?province={PROVINCE}", form_data(html, payment_method="card"))
    assert response.status_code == 422
    assert count(app, Purchase) == 0
