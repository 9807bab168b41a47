"""Logging in and out, and what a session carries across a login."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import field_errors, is_logged_in, page_text
from tests.conftest import post_form
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.core


def _session_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return header
    return None


def test_login_redirects_home_and_records_the_time(app, client, make_user):
    user = make_user(email="lan@example.vn")

    response = post_form(client, "/account/login", {"email": "LAN@example.vn", "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://ktt.test/")
    assert is_logged_in(client)
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


def test_login_follows_a_local_next(client, make_user):
    user = make_user()

    response = post_form(client, "/account/login?next=/account/password", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/password")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\\evil.example/steal",  # browsers read a backslash as a slash
        "/\t/evil.example/steal",  # and drop tabs
    ],
)
def test_login_ignores_a_next_that_leaves_the_site(client, make_user, target):
    user = make_user()

    response = post_form(
        client, "/account/login", {"email": user.email, "password": PASSWORD}, query_string={"next": target}
    )

    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    assert response.headers["Location"] in ("/", "http://ktt.test/")


def test_wrong_password_gets_a_generic_message(client, make_user, vi):
    user = make_user()

    response = post_form(client, "/account/login", {"email": user.email, "password": "not-the-password"})

    assert response.status_code == 422
    assert field_errors(response, "password") == [vi("The e-mail or password is not correct.")]
    assert not is_logged_in(client)


def test_unknown_email_gets_the_same_message(client, vi):
    response = post_form(client, "/account/login", {"email": "nobody@example.vn", "password": PASSWORD})

    assert response.status_code == 422
    assert field_errors(response, "password") == [vi("The e-mail or password is not correct.")]


def test_inactive_user_is_refused(client, make_user, vi):
    user = make_user(active=False)

    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 422
    assert field_errors(response, "password") == [vi("The e-mail or password is not correct.")]
    assert not is_logged_in(client)


def test_deactivated_user_loses_the_open_session(app, client, make_user, login):
    user = make_user()
    login(client, user)
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()

    assert not is_logged_in(client)


def test_logout_is_post_only(client, make_user, login):
    login(client, make_user())

    response = client.get("/account/logout")

    assert response.status_code == 405
    assert is_logged_in(client)


def test_logout_ends_the_session(client, make_user, login, vi):
    login(client, make_user())

    response = post_form(client, "/account/logout", follow_redirects=True)

    assert response.status_code == 200
    assert vi("You have logged out.") in page_text(response)
    assert not is_logged_in(client)


def test_logout_without_csrf_token_changes_nothing(client, make_user, login, vi):
    login(client, make_user())

    response = client.post("/account/logout")

    assert response.status_code == 400
    assert vi("The form has expired") in page_text(response)
    assert is_logged_in(client)


def test_login_without_csrf_token_is_refused(client, make_user, vi):
    user = make_user()

    response = client.post("/account/login", data={"email": user.email, "password": PASSWORD})

    assert response.status_code == 400
    assert vi("For your security the form could not be sent. Go back, reload the page and try again.") in page_text(
        response
    )
    assert not is_logged_in(client)


def test_session_cookie_is_httponly_and_lax(client, make_user):
    user = make_user()

    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD})

    cookie = _session_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_remember_cookie_is_httponly_and_lax(client, make_user):
    user = make_user()

    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})

    (cookie,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_starts_a_new_session_keeping_only_the_cart(client, make_user):
    user = make_user()
    client.get("/account/login")
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
        session["cart_token"] = "cart-123"
    before = client.get_cookie("session", domain="ktt.test").value

    post_form(client, "/account/login", {"email": user.email, "password": PASSWORD})

    assert client.get_cookie("session", domain="ktt.test").value != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["cart_token"] == "cart-123"
        assert session["_user_id"].startswith(f"{user.id}:")


def test_too_many_failed_logins_from_one_address_are_throttled(client, make_user, vi):
    user = make_user()
    for _ in range(10):
        response = post_form(client, "/account/login", {"email": user.email, "password": "wrong-password"})
        assert response.status_code == 422

    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 429
    assert vi("Too many attempts") in page_text(response)
    assert not is_logged_in(client)


def test_one_account_is_throttled_across_addresses(client, make_user, vi):
    user = make_user()
    for n in range(10):
        response = post_form(
            client,
            "/account/login",
            {"email": user.email, "password": "wrong-password"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        assert response.status_code == 422

    response = post_form(
        client,
        "/account/login",
        {"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.1.99"},
    )

    assert response.status_code == 429
    assert vi("Too many attempts") in page_text(response)


def test_throttling_one_account_leaves_others_alone(client, make_user):
    victim, other = make_user(), make_user()
    for n in range(10):
        post_form(
            client,
            "/account/login",
            {"email": victim.email, "password": "wrong-password"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )

    response = post_form(
        client,
        "/account/login",
        {"email": other.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.2.1"},
    )

    assert response.status_code == 302


def test_logout_forgets_the_remember_cookie(client, make_user):
    user = make_user()
    post_form(client, "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token", domain="ktt.test") is not None

    post_form(client, "/account/logout")

    assert client.get_cookie("remember_token", domain="ktt.test") is None
    assert not is_logged_in(client)


def test_remember_cookie_keeps_a_user_logged_in_after_the_session_ends(client, make_user):
    user = make_user()
    post_form(client, "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})

    client.delete_cookie("session", domain="ktt.test")

    assert is_logged_in(client)
