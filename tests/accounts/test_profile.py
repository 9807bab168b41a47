"""The profile page and the choice of language."""

from __future__ import annotations

import unicodedata

import pytest

from tests.accounts.helpers import field_errors, page_text
from tests.conftest import post_form

pytestmark = pytest.mark.core


def _stored(app, user_id: int):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_profile_needs_login(client):
    response = client.get("/account/")

    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_profile_edit_saves_name_phone_and_language(app, client, make_user, login):
    user = make_user()
    login(client, user)
    decomposed_name = unicodedata.normalize("NFD", "  Trần   Văn Bình ")

    response = post_form(
        client,
        "/account/",
        {"full_name": decomposed_name, "phone": "+84 912 345 678", "locale": "en"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    page = page_text(response)
    assert 'lang="en"' in page
    assert "Your profile is saved." in page
    stored = _stored(app, user.id)
    assert stored.full_name == "Trần Văn Bình"
    assert stored.phone == "0912345678"
    assert stored.locale == "en"


def test_profile_edit_with_bad_phone_changes_nothing(app, client, make_user, login, vi):
    user = make_user(full_name="Lê Thị Hồng")
    login(client, user)

    response = post_form(client, "/account/", {"full_name": "Người khác", "phone": "12345", "locale": "en"})

    assert response.status_code == 422
    assert field_errors(response, "phone") == [
        vi("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84).")
    ]
    stored = _stored(app, user.id)
    assert stored.full_name == "Lê Thị Hồng"
    assert stored.locale == "vi"


def test_profile_refuses_an_unknown_language(app, client, make_user, login):
    user = make_user()
    login(client, user)

    response = post_form(client, "/account/", {"full_name": user.full_name, "locale": "fr"})

    assert response.status_code == 422
    assert _stored(app, user.id).locale == "vi"


def test_pages_are_vietnamese_by_default(client):
    assert 'lang="vi"' in client.get("/account/login").get_data(as_text=True)


def test_language_switch_for_anonymous_visitor_lasts_the_session(client):
    response = post_form(client, "/lang", {"lang": "en", "next": "/account/login"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/login")
    assert 'lang="en"' in client.get("/account/login").get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "evil"]
)
def test_language_switch_ignores_unknown_languages_and_foreign_targets(client, target):
    response = post_form(client, "/lang", {"lang": "fr", "next": target})

    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    assert 'lang="vi"' in client.get("/").get_data(as_text=True)


def test_language_switch_needs_csrf_token(client):
    response = client.post("/lang", data={"lang": "en"})

    assert response.status_code == 400
    assert 'lang="vi"' in client.get("/").get_data(as_text=True)


def test_language_switch_is_remembered_for_a_user(app, client, make_user, login):
    user = make_user()
    login(client, user)

    post_form(client, "/lang", {"lang": "en", "next": "/"})

    assert _stored(app, user.id).locale == "en"
    other_device = login(app.test_client(), user)
    assert 'lang="en"' in other_device.get("/").get_data(as_text=True)


def test_users_language_wins_over_the_session_after_login(app, client, make_user, login):
    user = make_user(locale="en")
    post_form(client, "/lang", {"lang": "vi"})

    login(client, user)

    assert 'lang="en"' in client.get("/").get_data(as_text=True)
