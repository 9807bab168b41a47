"""Orders fixtures: two cooperatives with products, a buyer, their staff, and a purchase helper."""

from __future__ import annotations

import re

import pytest

from ktt_market.core import places

PROVINCE = 86  # Vĩnh Long
WARD = 29242  # Phường Trà Vinh, Vĩnh Long
OTHER_PROVINCE = 79  # Thành phố Hồ Chí Minh
OTHER_WARD = next(iter(places.wards_of(OTHER_PROVINCE)))


def details(**fields) -> dict:
    """Good delivery details for place_purchase; override any."""
    values = {
        "contact_name": "Nguyễn Thị Lan",
        "phone": "0912 345 678",
        "province_code": PROVINCE,
        "ward_code": WARD,
        "street": "12 Nguyễn Đáng",
        "note": None,
        "payment_method": "cod",
    }
    values.update(fields)
    return values


def page(response) -> str:
    return response.get_data(as_text=True)


def checkout_key(html: str) -> str:
    match = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', html
    )
    assert match, "no idempotency key on the checkout page"
    return match.group(1)


def expected_total(html: str) -> str:
    match = re.search(r'name="expected_total"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="expected_total"', html
    )
    assert match, "no expected total on the checkout page"
    return match.group(1)


@pytest.fixture
def make_user(make_user):
    """Users who read English: tests assert messages in English."""

    def make(role="buyer", province_code=None, **fields):
        fields.setdefault("locale", "en")
        return make_user(role, province_code, **fields)

    return make


@pytest.fixture(autouse=True)
def _english_services(request):
    """Run service calls (the `ctx` fixture) in English."""
    if "ctx" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


@pytest.fixture
def english():
    """Switch a visitor's client to English."""
    from tests.conftest import post_form

    def do(client):
        post_form(client, "/lang", {"lang": "en", "next": "/"})
        return client

    return do


@pytest.fixture
def coops(make_unit):
    """Two approved cooperatives."""
    return make_unit(name="HTX Bưởi Trà Vinh"), make_unit(name="HTX Dừa Bến Tre")


@pytest.fixture
def products(coops, make_product):
    """Products of both cooperatives: pomelo (A, 60.000/kg), rice (A, 25.000 from 5 kg by 5), coconut (B)."""
    a, b = coops
    return {
        "pomelo": make_product(a, name="Bưởi da xanh", price_vnd=60_000, stock=10),
        "rice": make_product(a, name="Gạo ST25", price_vnd=25_000, stock=100, min_quantity=5, quantity_step=5),
        "coconut": make_product(b, name="Dừa sáp", price_vnd=80_000, stock=3),
    }


@pytest.fixture
def buyer(make_user):
    return make_user(full_name="Nguyễn Thị Lan")


@pytest.fixture
def staff_a(coops, make_staff, make_user):
    return make_staff(coops[0], make_user(full_name="Trần Văn Bưởi"))


@pytest.fixture
def staff_b(coops, make_staff, make_user):
    return make_staff(coops[1], make_user(full_name="Lê Văn Dừa"))


@pytest.fixture
def fill_cart(app):
    """Put {product: quantity} straight into a user's cart."""
    from ktt_market.extensions import db
    from ktt_market.orders.cart import cart_for_user
    from ktt_market.orders.models import CartItem

    def fill(user, items: dict) -> int:
        with app.app_context():
            cart = cart_for_user(user.id, create=True)
            for product, quantity in items.items():
                db.session.add(CartItem(cart_id=cart.id, product_id=product.id, quantity=quantity))
            db.session.commit()
            cart_id = cart.id
            db.session.remove()
        return cart_id

    return fill


@pytest.fixture
def place(app, fill_cart):
    """Check out {product: quantity} for `user` through the service; return the purchase number."""
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.orders.cart import cart_for_user
    from ktt_market.orders.checkout import new_idempotency_key, place_purchase

    def do(user, items: dict, **fields) -> str:
        fill_cart(user, items)
        # A fresh app context (and so its own session), even inside a test's `ctx`.
        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, user.id)
            purchase = place_purchase(
                cart_for_user(user.id), actor=actor, details=details(**fields), idempotency_key=new_idempotency_key()
            )
            db.session.commit()
            number = purchase.number
            db.session.remove()
        return number

    return do


@pytest.fixture
def stock_of(app):
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db

    def read(product) -> int:
        with app.app_context():
            value = db.session.get(Product, product.id).stock
            db.session.remove()
        return value

    return read
