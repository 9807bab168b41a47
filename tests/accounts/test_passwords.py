"""Changing a password, and resetting a forgotten one by an e-mailed link."""

from __future__ import annotations

import re
import time

import pytest

from tests.accounts.helpers import field_errors, is_logged_in, page_text
from tests.conftest import post_form
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.core

NEW_PASSWORD = "dừa-sáp-cầu-kè-2026"


@pytest.fixture
def outbox(monkeypatch) -> list[dict]:
    """Capture the e-mails the accounts views send."""
    sent: list[dict] = []

    def fake_send_mail(to, subject, text, html=None):
        sent.append({"to": to, "subject": subject, "text": text, "html": html})

    monkeypatch.setattr("ktt_market.accounts.views.send_mail", fake_send_mail)
    return sent


def _reset_path(mail: dict) -> str:
    match = re.search(r"https?://ktt\.test(/account/reset/\S+)", mail["text"])
    assert match, mail["text"]
    return match.group(1)


def _can_log_in(app, email: str, password: str) -> bool:
    response = post_form(app.test_client(), "/account/login", {"email": email, "password": password})
    return response.status_code == 302


# ---------------------------------------------------------------- change


def test_change_password_with_wrong_current_is_refused(app, client, make_user, login, vi):
    user = make_user()
    login(client, user)

    response = post_form(
        client,
        "/account/password",
        {"current_password": "not-my-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 422
    assert field_errors(response, "current_password") == [vi("The current password is not correct.")]
    assert _can_log_in(app, user.email, PASSWORD)


def test_change_password_with_mismatched_confirmation_is_refused(app, client, make_user, login, vi):
    user = make_user()
    login(client, user)

    response = post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "something-else"},
    )

    assert response.status_code == 422
    assert field_errors(response, "confirm") == [vi("The passwords differ.")]
    assert _can_log_in(app, user.email, PASSWORD)


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, make_user, login, vi):
    user = make_user()
    login(client, user)
    other_device = login(app.test_client(), user)
    assert is_logged_in(other_device)

    response = post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert vi("Your password has been changed.") in page_text(response)
    assert is_logged_in(client)
    assert not is_logged_in(other_device)
    assert not _can_log_in(app, user.email, PASSWORD)
    assert _can_log_in(app, user.email, NEW_PASSWORD)


def test_change_password_voids_remember_cookies_elsewhere(app, client, make_user, login):
    user = make_user()
    login(client, user)
    other_device = app.test_client()
    post_form(other_device, "/account/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    other_device.delete_cookie("session", domain="ktt.test")

    post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert not is_logged_in(other_device)


def test_change_password_stores_a_new_argon2id_hash(app, client, make_user, login):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    user = make_user()
    login(client, user)
    post_form(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert stored != user.password_hash


# ---------------------------------------------------------------- reset


def test_reset_request_for_unknown_email_sends_nothing_and_says_the_same(client, outbox, vi):
    response = post_form(client, "/account/reset", {"email": "nobody@example.vn"}, follow_redirects=True)

    assert response.status_code == 200
    assert vi("If an account uses this e-mail, a reset link is on its way.") in page_text(response)
    assert outbox == []


def test_reset_request_for_inactive_user_sends_nothing(client, make_user, outbox, vi):
    user = make_user(active=False)

    response = post_form(client, "/account/reset", {"email": user.email}, follow_redirects=True)

    assert vi("If an account uses this e-mail, a reset link is on its way.") in page_text(response)
    assert outbox == []


def test_reset_password_by_emailed_link(app, client, make_user, outbox, vi):
    user = make_user(email="hoa@example.vn")

    response = post_form(client, "/account/reset", {"email": "Hoa@Example.vn"}, follow_redirects=True)

    assert vi("If an account uses this e-mail, a reset link is on its way.") in page_text(response)
    (mail,) = outbox
    assert mail["to"] == "hoa@example.vn"
    link = _reset_path(mail)
    assert link in mail["html"]

    assert client.get(link).status_code == 200
    response = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)

    assert response.status_code == 200
    assert vi("Your password has been reset. You can log in now.") in page_text(response)
    assert not _can_log_in(app, user.email, PASSWORD)
    assert _can_log_in(app, user.email, NEW_PASSWORD)


def test_reset_link_works_only_once(app, client, make_user, outbox, vi):
    user = make_user()
    post_form(client, "/account/reset", {"email": user.email})
    link = _reset_path(outbox[0])
    post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    response = client.get(link, follow_redirects=True)

    assert vi("This reset link is invalid or has expired. Please ask for a new one.") in page_text(response)
    response = post_form(client, link, {"password": "yet-another-pass", "confirm": "yet-another-pass"})
    assert response.status_code == 302
    assert _can_log_in(app, user.email, NEW_PASSWORD)


def test_reset_form_with_short_password_is_refused(app, client, make_user, outbox, vi):
    user = make_user()
    post_form(client, "/account/reset", {"email": user.email})
    link = _reset_path(outbox[0])

    response = post_form(client, link, {"password": "ngan", "confirm": "ngan"})

    assert response.status_code == 422
    assert field_errors(response, "password") == [vi("At least %(min)d characters.", min=8)]
    assert _can_log_in(app, user.email, PASSWORD)


def test_tampered_reset_link_is_refused(app, client, make_user, outbox, vi):
    user = make_user()
    post_form(client, "/account/reset", {"email": user.email})
    link = _reset_path(outbox[0])
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")

    response = client.get(tampered, follow_redirects=True)

    assert vi("This reset link is invalid or has expired. Please ask for a new one.") in page_text(response)
    response = post_form(client, tampered, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _can_log_in(app, user.email, PASSWORD)


def test_expired_reset_link_is_refused(app, client, make_user, monkeypatch, vi):
    from ktt_market.accounts import services
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    user = make_user()
    two_hours_ago = time.time() - 2 * 3600
    with app.test_request_context(), monkeypatch.context() as clock:
        clock.setattr(time, "time", lambda: two_hours_ago)
        token = services.make_reset_token(db.session.get(User, user.id))

    response = client.get(f"/account/reset/{token}", follow_redirects=True)

    assert vi("This reset link is invalid or has expired. Please ask for a new one.") in page_text(response)
    response = post_form(client, f"/account/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _can_log_in(app, user.email, PASSWORD)
