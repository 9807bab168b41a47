"""Notifications fixtures: a cooperative with staff and a product, buyers in both languages, a fake SMTP."""

from __future__ import annotations

from typing import ClassVar

import pytest

PROVINCE = 86  # Vĩnh Long
WARD = 29242  # Phường Trà Vinh, Vĩnh Long


def details(**fields) -> dict:
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


@pytest.fixture
def coop(make_unit):
    return make_unit(name="HTX Bưởi Trà Vinh")


@pytest.fixture
def staff(coop, make_staff, make_user):
    return make_staff(coop, make_user(full_name="Trần Văn Bưởi", locale="vi"))


@pytest.fixture
def product(coop, make_product):
    return make_product(coop, name="Bưởi da xanh", price_vnd=60_000, stock=10, low_stock_threshold=5)


@pytest.fixture
def buyer(make_user):
    """A buyer with the default language (Vietnamese) and a phone number."""
    return make_user(full_name="Nguyễn Thị Lan", phone="0912345678")


@pytest.fixture
def english_buyer(make_user):
    return make_user(full_name="Jane Doe", locale="en")


@pytest.fixture
def admin(make_user):
    return make_user("admin")


class FakeSMTP:
    """Stands in for smtplib.SMTP: records each message; `fail_with` makes sending raise."""

    sent: ClassVar[list] = []
    fail_with: ClassVar[Exception | None] = None

    def __init__(self, host, port, timeout=None):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, msg):
        if FakeSMTP.fail_with is not None:
            raise FakeSMTP.fail_with
        FakeSMTP.sent.append(msg)


@pytest.fixture
def smtp(app, monkeypatch):
    """A fake SMTP server: returns the list of messages it accepted."""
    import smtplib

    FakeSMTP.sent = []
    FakeSMTP.fail_with = None
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test")
    return FakeSMTP


@pytest.fixture
def place(app, fill_cart):
    """Check out {product: quantity} for `user` through the service and commit; return the purchase id."""
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db
    from ktt_market.orders.cart import cart_for_user
    from ktt_market.orders.checkout import new_idempotency_key, place_purchase

    def do(user, items: dict, *, commit: bool = True) -> int | None:
        fill_cart(user, items)
        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, user.id)
            purchase = place_purchase(
                cart_for_user(user.id), actor=actor, details=details(), idempotency_key=new_idempotency_key()
            )
            purchase_id = purchase.id
            if commit:
                db.session.commit()
            else:
                db.session.rollback()
            db.session.remove()
        return purchase_id if commit else None

    return do


@pytest.fixture
def fill_cart(app):
    from ktt_market.extensions import db
    from ktt_market.orders.cart import cart_for_user
    from ktt_market.orders.models import CartItem

    def fill(user, items: dict) -> None:
        with app.app_context():
            cart = cart_for_user(user.id, create=True)
            for product, quantity in items.items():
                db.session.add(CartItem(cart_id=cart.id, product_id=product.id, quantity=quantity))
            db.session.commit()
            db.session.remove()

    return fill


@pytest.fixture
def outbox(app):
    """Read the outbox as (kind, user_id, channel, status) tuples, in id order."""
    from sqlalchemy import select

    from ktt_market.extensions import db
    from ktt_market.notifications.models import OutboxMessage

    def read() -> list:
        with app.app_context():
            rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            result = [(r.kind, r.user_id, str(r.channel), str(r.status)) for r in rows]
            db.session.remove()
        return result

    return read
