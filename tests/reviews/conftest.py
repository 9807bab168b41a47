"""Reviews fixtures: orders built straight from the models (not through checkout), English-reading users."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from ktt_market.core import places

PROVINCE = 86  # Vĩnh Long: the factory's units are here
OTHER_PROVINCE = 79  # Thành phố Hồ Chí Minh
FAR_WARD = next(iter(places.wards_of(OTHER_PROVINCE)))

_numbers = itertools.count(1)


@pytest.fixture
def make_user(make_user):
    """Users who read English: tests assert messages in English, which keep holding once Vietnamese is filled in."""

    def make(role="buyer", province_code=None, **fields):
        fields.setdefault("locale", "en")
        return make_user(role, province_code, **fields)

    return make


@pytest.fixture(autouse=True)
def _english_services(request):
    """Run service calls (the `ctx` fixture) in English, for the same reason."""
    if "ctx" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


@pytest.fixture
def make_order(app):
    """A purchase with one order of `unit` for `buyer`, committed; lines are (product, quantity) pairs."""
    from ktt_market.extensions import db
    from ktt_market.orders.models import Order, OrderLine, OrderStatus, PaymentMethod, Purchase

    def make(unit, buyer, lines, status=OrderStatus.DELIVERED, placed_at=None, number=None):
        n = next(_numbers)
        with app.app_context():
            subtotal = sum(p.price_vnd * q for p, q in lines)
            purchase = Purchase(
                number=number or f"KTT-T{n:05d}",
                buyer_id=buyer.id,
                idempotency_key=f"test-{n}-{id(lines)}",
                contact_name="Nguyễn Văn An",
                phone="0912345678",
                province_code=86,
                ward_code=29242,
                street="1 Nguyễn Đáng",
                payment_method=PaymentMethod.COD,
                total_vnd=subtotal,
            )
            db.session.add(purchase)
            db.session.flush()
            order = Order(purchase_id=purchase.id, unit_id=unit.id, status=status, subtotal_vnd=subtotal)
            if placed_at is not None:
                order.placed_at = placed_at
            db.session.add(order)
            db.session.flush()
            order_lines = [
                OrderLine(
                    order_id=order.id,
                    product_id=p.id,
                    product_name=p.name,
                    sale_unit=str(p.sale_unit),
                    unit_price_vnd=p.price_vnd,
                    quantity=q,
                    line_total_vnd=p.price_vnd * q,
                )
                for p, q in lines
            ]
            db.session.add_all(order_lines)
            db.session.commit()
            result = SimpleNamespace(
                purchase_id=purchase.id,
                number=purchase.number,
                order_id=order.id,
                line_ids=[line.id for line in order_lines],
            )
            db.session.remove()
        return result

    return make


@pytest.fixture
def unit(make_unit):
    return make_unit(name="HTX Bưởi Da Xanh")


@pytest.fixture
def owner(make_user, make_staff, unit):
    return make_staff(unit, make_user())


@pytest.fixture
def product(make_product, unit):
    return make_product(unit, name="Bưởi da xanh")


@pytest.fixture
def buyer(make_user):
    return make_user(full_name="Nguyễn Văn An")


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=PROVINCE)


@pytest.fixture
def other_officer(make_user):
    return make_user("officer", province_code=OTHER_PROVINCE)


@pytest.fixture
def delivered(make_order, unit, buyer, product):
    """A delivered order of two kilos of the product."""
    return make_order(unit, buyer, [(product, 2)])
