"""Creating an account through the registration form."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import func, select

from tests.accounts.helpers import field_errors, is_logged_in
from tests.conftest import post_form

pytestmark = pytest.mark.core

GOOD = {
    "full_name": "Nguyễn Thị Mai",
    "email": "mai@example.vn",
    "phone": "0912 345 678",
    "password": "bưởi-da-xanh-2026",
    "confirm": "bưởi-da-xanh-2026",
}


def _users(app) -> list:
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        users = list(db.session.scalars(select(User).order_by(User.id)))
        db.session.expunge_all()
        return users


def _user_count(app) -> int:
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_register_creates_account_and_logs_in(app, client):
    response = post_form(client, "/account/register", GOOD)

    assert response.status_code == 302
    (user,) = _users(app)
    assert user.email == "mai@example.vn"
    assert user.full_name == "Nguyễn Thị Mai"
    assert user.phone == "0912345678"
    assert user.role.value == "buyer"
    assert is_logged_in(client)


def test_register_stores_names_nfc_and_email_lower_case(app, client):
    decomposed = unicodedata.normalize("NFD", "  Huỳnh   Thị Ngọc Diễm ")

    post_form(client, "/account/register", {**GOOD, "full_name": decomposed, "email": "Diem@Example.VN"})

    (user,) = _users(app)
    assert user.full_name == "Huỳnh Thị Ngọc Diễm"
    assert user.email == "diem@example.vn"


def test_password_is_stored_as_argon2id_hash(app, client):
    post_form(client, "/account/register", GOOD)

    (user,) = _users(app)
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD["password"] not in user.password_hash


def test_register_with_email_taken_in_other_case_is_refused(app, client, make_user, vi):
    make_user(email="mai@example.vn")

    response = post_form(client, "/account/register", {**GOOD, "email": "MAI@Example.VN"})

    assert response.status_code == 422
    assert field_errors(response, "email") == [vi("An account with this e-mail already exists.")]
    assert _user_count(app) == 1
    assert not is_logged_in(client)


def test_register_with_short_password_is_refused(app, client, vi):
    response = post_form(client, "/account/register", {**GOOD, "password": "ngan", "confirm": "ngan"})

    assert response.status_code == 422
    assert field_errors(response, "password") == [vi("At least %(min)d characters.", min=8)]
    assert _user_count(app) == 0


def test_register_with_mismatched_confirmation_is_refused(app, client, vi):
    response = post_form(client, "/account/register", {**GOOD, "confirm": "something-else-entirely"})

    assert response.status_code == 422
    assert field_errors(response, "confirm") == [vi("The passwords differ.")]
    assert _user_count(app) == 0


@pytest.mark.parametrize("phone", ["12345", "0123456789", "091234567", "+1 212 555 0100"])
def test_register_with_bad_vietnamese_phone_is_refused(app, client, vi, phone):
    response = post_form(client, "/account/register", {**GOOD, "phone": phone})

    assert response.status_code == 422
    assert field_errors(response, "phone") == [
        vi("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84).")
    ]
    assert _user_count(app) == 0


def test_register_page_has_labelled_fields(client):
    page = client.get("/account/register").get_data(as_text=True)

    for field in ("full_name", "email", "phone", "password", "confirm"):
        assert f'<label for="{field}"' in page
