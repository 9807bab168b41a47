"""The cart: visitors and users, quantity rules, stock caps, several cooperatives, merging on login."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ktt_market.extensions import db
from ktt_market.orders.models import Cart, CartItem
from tests.conftest import post_form

from .conftest import page

pytestmark = pytest.mark.core


def cart_rows(app, **where) -> dict[int, int]:
    """{product_id: quantity} of the one cart matching `where` (user_id=..., or user_id=None)."""
    with app.app_context():
        carts = db.session.scalars(select(Cart).filter_by(**where)).all()
        assert len(carts) <= 1
        rows = {} if not carts else {i.product_id: i.quantity for i in carts[0].items}
        db.session.remove()
    return rows


def visitor_rows(app) -> dict[int, int]:
    return cart_rows(app, user_id=None)


def add(client, product, quantity):
    return post_form(client, "/cart/add", {"product_id": product.id, "quantity": quantity})


def test_visitor_adds_to_cart_and_sees_it_in_the_header(app, client, english, products):
    english(client)
    assert ">Cart</a>" in page(client.get("/"))  # empty: no count
    response = add(client, products["pomelo"], 2)
    assert response.status_code == 302 and response.location.endswith("/cart")
    html = page(client.get("/cart"))
    assert "Bưởi da xanh" in html and "120.000" in html.replace(",", ".")
    assert 'Cart <span class="badge">1</span>' in html
    assert visitor_rows(app) == {products["pomelo"].id: 2}
    # Adding again adds up.
    add(client, products["pomelo"], 3)
    assert visitor_rows(app) == {products["pomelo"].id: 5}


def test_viewing_an_empty_cart_creates_nothing(app, client, english):
    english(client)
    assert "Your cart is empty." in page(client.get("/cart"))
    with app.app_context():
        assert db.session.scalar(select(Cart.id)) is None


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("3", "The smallest quantity of Gạo ST25 is 5."),
        ("7", "Gạo ST25 is sold from 5 in steps of 5 (5, 10, 15, …)."),
        ("0", "Enter a quantity of at least 1."),
        ("abc", "Not a valid integer value."),
    ],
)
def test_quantity_rules(app, client, english, products, quantity, message):
    english(client)
    response = add(client, products["rice"], quantity)
    assert response.status_code == 422
    assert message in page(response)
    assert visitor_rows(app) == {}


def test_quantity_on_the_step_is_accepted(app, client, english, products):
    english(client)
    assert add(client, products["rice"], 15).status_code == 302
    assert visitor_rows(app) == {products["rice"].id: 15}


def test_quantity_is_capped_by_stock_with_a_message(app, client, english, products):
    english(client)
    response = add(client, products["coconut"], 5)  # stock 3
    assert response.status_code == 302
    assert "Only 3 of Dừa sáp left: your cart holds 3." in page(client.get("/cart"))
    assert visitor_rows(app) == {products["coconut"].id: 3}


def test_sold_out_and_unpublished_products_cannot_be_added(app, client, english, coops, make_product):
    english(client)
    sold_out = make_product(coops[0], name="Xoài cát", stock=0)
    hidden = make_product(coops[0], name="Chưa bán", published=False)
    response = add(client, sold_out, 1)
    assert response.status_code == 422 and "Xoài cát is sold out." in page(response)
    response = add(client, hidden, 1)
    assert response.status_code == 422 and "This product is not for sale." in page(response)
    response = post_form(client, "/cart/add", {"product_id": 999999, "quantity": 1})
    assert response.status_code == 422 and "This product is not for sale." in page(response)
    assert visitor_rows(app) == {}


def test_product_of_a_unit_that_cannot_sell_cannot_be_added(app, client, english, make_unit, make_product):
    from ktt_market.registry.models import PlatformStatus

    english(client)
    pending = make_unit(platform_status=PlatformStatus.PENDING)
    response = add(client, make_product(pending, name="Mít"), 1)
    assert response.status_code == 422 and "This product is not for sale." in page(response)


def test_cart_groups_by_cooperative_with_subtotals_and_total(app, client, english, products):
    english(client)
    add(client, products["pomelo"], 2)  # 120.000, A
    add(client, products["rice"], 10)  # 250.000, A
    add(client, products["coconut"], 1)  # 80.000, B
    html = page(client.get("/cart")).replace(",", ".").replace("₫", "")
    assert html.index("HTX Bưởi Trà Vinh") < html.index("HTX Dừa Bến Tre")
    assert "Subtotal for HTX Bưởi Trà Vinh" in html and "370.000" in html
    assert "Subtotal for HTX Dừa Bến Tre" in html
    assert "Total: 450.000" in html
    assert 'Cart <span class="badge">3</span>' in html


def test_update_and_remove(app, client, english, products):
    english(client)
    add(client, products["pomelo"], 2)
    add(client, products["coconut"], 1)
    response = post_form(client, "/cart/update", {"product_id": products["pomelo"].id, "quantity": 4})
    assert response.status_code == 302
    assert visitor_rows(app)[products["pomelo"].id] == 4
    response = post_form(client, "/cart/update", {"product_id": products["pomelo"].id, "quantity": 50})
    assert response.status_code == 302
    assert "Only 10 of Bưởi da xanh left: your cart holds 10." in page(client.get("/cart"))
    response = post_form(client, "/cart/remove", {"product_id": products["coconut"].id})
    assert response.status_code == 302
    assert visitor_rows(app) == {products["pomelo"].id: 10}
    # Zero removes too.
    post_form(client, "/cart/update", {"product_id": products["pomelo"].id, "quantity": 0})
    assert visitor_rows(app) == {}


def test_update_refuses_a_quantity_off_the_step(app, client, english, products):
    english(client)
    add(client, products["rice"], 5)
    response = post_form(client, "/cart/update", {"product_id": products["rice"].id, "quantity": 6})
    assert response.status_code == 422
    assert "sold from 5 in steps of 5" in page(response)
    assert visitor_rows(app) == {products["rice"].id: 5}


def test_removing_what_is_not_there_says_so(app, client, english, products):
    english(client)
    response = post_form(client, "/cart/remove", {"product_id": products["pomelo"].id})
    assert response.status_code == 422
    assert "This product is not in your cart." in page(response)


def test_cart_shows_lines_that_can_no_longer_be_bought(app, client, english, products):
    from ktt_market.catalog.models import Product

    english(client)
    add(client, products["pomelo"], 5)
    with app.app_context():
        db.session.get(Product, products["pomelo"].id).stock = 2
        db.session.commit()
    html = page(client.get("/cart"))
    assert "Only 2 left: lower the quantity." in html
    assert "Go to checkout" not in html


def test_merge_on_login_keeps_quantities(app, client, english, login, buyer, products, fill_cart):
    fill_cart(buyer, {products["pomelo"]: 1, products["rice"]: 5})  # from an earlier visit
    english(client)
    add(client, products["pomelo"], 2)
    add(client, products["coconut"], 3)
    login(client, buyer)
    assert cart_rows(app, user_id=buyer.id) == {
        products["pomelo"].id: 3,  # 1 + 2
        products["rice"].id: 5,
        products["coconut"].id: 3,
    }
    assert visitor_rows(app) == {}  # the visitor cart is gone, merged
    assert 'Cart <span class="badge">3</span>' in page(client.get("/cart"))


def test_merge_into_a_new_user_cart_and_logout_starts_empty(app, client, english, login, buyer, products):
    english(client)
    add(client, products["rice"], 10)
    login(client, buyer)
    assert cart_rows(app, user_id=buyer.id) == {products["rice"].id: 10}
    post_form(client, "/account/logout")
    english(client)
    assert "Your cart is empty." in page(client.get("/cart"))
    # The user's cart waits for the next login.
    login(client, buyer)
    assert "Gạo ST25" in page(client.get("/cart"))


def test_merge_is_capped_by_stock(app, client, english, login, buyer, products, fill_cart):
    fill_cart(buyer, {products["coconut"]: 2})
    english(client)
    add(client, products["coconut"], 2)
    login(client, buyer)
    assert cart_rows(app, user_id=buyer.id) == {products["coconut"].id: 3}  # stock 3


def test_logged_in_user_adds_to_own_cart(app, client, login, buyer, products):
    login(client, buyer)
    add(client, products["coconut"], 1)
    assert cart_rows(app, user_id=buyer.id) == {products["coconut"].id: 1}
    with app.app_context():
        assert db.session.scalar(select(Cart.id).where(Cart.user_id.is_(None))) is None


def test_one_cart_per_visitor(app, english, products):
    first, second = app.test_client(), app.test_client()
    english(first)
    english(second)
    add(first, products["pomelo"], 1)
    add(second, products["coconut"], 1)
    assert "Dừa sáp" not in page(first.get("/cart"))
    assert "Bưởi da xanh" not in page(second.get("/cart"))
    with app.app_context():
        assert len(db.session.scalars(select(CartItem)).all()) == 2


def test_cart_post_needs_csrf(app, client, products):
    response = client.post("/cart/add", data={"product_id": products["pomelo"].id, "quantity": 1})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(CartItem.id)) is None
