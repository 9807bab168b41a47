"""Factory fixtures: build the objects a test needs, committed, and return them."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from types import SimpleNamespace

import pytest

PASSWORD = "mat-khau-an-toan"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    # Argon2id is deliberately slow; tests hash the shared password once.
    from ktt_market.accounts.passwords import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def make_user(app):
    from ktt_market.accounts.models import Role, User
    from ktt_market.extensions import db

    def make(role: Role | str = Role.BUYER, province_code: int | None = None, **fields) -> User:
        role = Role(role)
        n = next(_seq)
        if role is Role.OFFICER and province_code is None:
            province_code = 86
        with app.app_context():
            user = User(
                email=fields.pop("email", f"user{n}@example.vn"),
                password_hash=_password_hash(),
                full_name=fields.pop("full_name", f"Người dùng {n}"),
                role=role,
                province_code=province_code if role is Role.OFFICER else None,
                **fields,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


@pytest.fixture
def make_unit(app):
    from ktt_market.extensions import db
    from ktt_market.registry.models import PlatformStatus, Sector, Unit, UnitKind

    def make(**fields) -> Unit:
        n = next(_seq)
        ward_code = fields.pop("ward_code", 29242)  # Phường Trà Vinh, Vĩnh Long
        from ktt_market.core.places import ward_province

        values = dict(
            kind=UnitKind.COOPERATIVE,
            registration_code=f"REG-{n:05d}",
            name=f"Hợp tác xã Thử nghiệm {n}",
            sector=Sector.AGRICULTURE,
            founded_on=dt.date(2020, 1, 15),
            ward_code=ward_code,
            province_code=ward_province(ward_code),
            declared_members=10,
            charter_capital_vnd=100_000_000,
            platform_status=PlatformStatus.APPROVED,
        )
        values.update(fields)
        with app.app_context():
            unit = Unit(**values)
            db.session.add(unit)
            db.session.commit()
            db.session.refresh(unit)
            db.session.expunge(unit)
        return unit

    return make


@pytest.fixture
def make_staff(app, make_user):
    """A user who is staff (owner by default) of `unit`."""
    from ktt_market.extensions import db
    from ktt_market.registry.models import StaffRole, UnitStaff

    def make(unit, user=None, role: StaffRole = StaffRole.OWNER):
        user = user or make_user()
        with app.app_context():
            db.session.add(UnitStaff(unit_id=unit.id, user_id=user.id, role=role))
            db.session.commit()
        return user

    return make


@pytest.fixture
def login():
    """Log `user` in on `client` through the real login form."""
    from tests.conftest import post_form

    def do(client, user, password: str = PASSWORD):
        response = post_form(client, "/account/login", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do


@pytest.fixture
def make_product(app):
    """A published product of `unit` (category: the seeded "Trái cây" unless told)."""
    from ktt_market.catalog.models import Product, SaleUnit
    from ktt_market.core.text import fold
    from ktt_market.extensions import db

    def make(unit, **fields) -> Product:
        n = next(_seq)
        values = dict(
            unit_id=unit.id,
            category_id=2,
            sku=f"SP{n:05d}",
            name=f"Sản phẩm {n}",
            sale_unit=SaleUnit.KG,
            price_vnd=50_000,
            stock=100,
            published=True,
            province_code=unit.province_code,
        )
        values.update(fields)
        values.setdefault("search_text", fold(f"{values['name']} {unit.name}"))
        with app.app_context():
            product = Product(**values)
            db.session.add(product)
            db.session.commit()
            db.session.refresh(product)
            db.session.expunge(product)
        return product

    return make


@pytest.fixture
def make_order(app):
    """A purchase with one order of `unit` for `buyer`, committed; lines are (product, quantity) pairs."""
    from ktt_market.extensions import db
    from ktt_market.orders.models import Order, OrderLine, OrderStatus, PaymentMethod, Purchase

    def make(unit, buyer, lines, status=OrderStatus.DELIVERED, placed_at=None, number=None):
        n = next(_seq)
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
