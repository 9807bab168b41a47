"""Notification pages: the inbox and its unread count, settings, and the admins' failed messages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.notifications.models import Notification, NotificationPreference, OutboxMessage, OutboxStatus
from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.fixture
def inbox_of(app):
    """Put notifications titled `titles` (oldest first) in `user`'s inbox; return their ids."""

    def add(user, *titles: str, read: bool = False) -> list[int]:
        with app.app_context():
            notes = [
                Notification(
                    user_id=user.id,
                    kind="order_confirmed",
                    title=t,
                    body="",
                    link="/orders",
                    read_at=utcnow() if read else None,
                )
                for t in titles
            ]
            db.session.add_all(notes)
            db.session.commit()
            ids = [n.id for n in notes]
            db.session.remove()
        return ids

    return add


def page(response) -> str:
    return response.get_data(as_text=True)


def test_inbox_lists_newest_first_with_the_unread_count_in_the_header(client, login, buyer, inbox_of):
    inbox_of(buyer, "Đơn KTT-1 đã xác nhận", "Đơn KTT-2 đã giao")
    login(client, buyer)
    html = page(client.get("/notifications"))
    assert html.index("Đơn KTT-2 đã giao") < html.index("Đơn KTT-1 đã xác nhận")
    assert '<span class="badge">2</span>' in html


def test_the_inbox_needs_a_login(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/account/login" in response.location


def test_mark_one_and_all_read(app, client, login, buyer, inbox_of):
    first, second, _third = inbox_of(buyer, "Một", "Hai", "Ba")
    login(client, buyer)
    response = post_form(client, f"/notifications/{first}/read")
    assert response.status_code == 302
    assert '<span class="badge">2</span>' in page(client.get("/notifications"))
    response = post_form(client, f"/notifications/{second}/read", {"open": "1"})
    assert response.location.endswith("/orders")
    post_form(client, "/notifications/read-all")
    html = page(client.get("/notifications"))
    assert 'class="badge"' not in html.split("</header>")[0]
    with app.app_context():
        assert all(n.read_at for n in db.session.scalars(select(Notification)))


def test_marking_read_needs_the_csrf_token(client, login, buyer, inbox_of):
    (note,) = inbox_of(buyer, "Một")
    login(client, buyer)
    assert client.post(f"/notifications/{note}/read").status_code == 400
    assert '<span class="badge">1</span>' in page(client.get("/notifications"))


def test_nobody_marks_someone_elses_notification(app, client, login, buyer, english_buyer, inbox_of):
    (theirs,) = inbox_of(buyer, "Của người khác")
    login(client, english_buyer)
    assert post_form(client, f"/notifications/{theirs}/read").status_code == 404
    assert "Của người khác" not in page(client.get("/notifications"))
    post_form(client, "/notifications/read-all")
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def test_settings_store_the_ticked_boxes(app, client, login, buyer):
    login(client, buyer)
    html = page(client.get("/notifications/settings"))
    assert 'name="order_shipped:email" value="1"' in html
    response = post_form(client, "/notifications/settings", {"order_shipped:sms": "1", "order_shipped:inapp": "1"})
    assert response.status_code == 302
    with app.app_context():
        on = {
            (p.kind, str(p.channel))
            for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.enabled))
        }
        assert on == {("order_shipped", "sms")}  # the inbox was on already: no row needed
    html = page(client.get("/notifications/settings"))
    assert re.search(r'name="order_shipped:sms"[^>]*checked', html)
    assert not re.search(r'name="order_shipped:email"[^>]*checked', html)
    assert re.search(r'name="order_delivered:email"[^>]*checked', html) is None  # every box is the form's answer


def test_phone_channels_without_a_phone_are_refused_with_a_message(app, client, login, english_buyer):
    login(client, english_buyer)
    response = post_form(client, "/notifications/settings", {"order_shipped:sms": "1"})
    assert response.status_code == 422
    assert "Add a phone number" in page(response)
    with app.app_context():
        assert db.session.scalars(select(NotificationPreference)).all() == []


@pytest.fixture
def failed_message(app, buyer):
    with app.app_context():
        message = OutboxMessage(
            key=f"order_confirmed:order-9:{buyer.id}:email",
            channel="email",
            user_id=buyer.id,
            recipient=buyer.email,
            kind="order_confirmed",
            locale="vi",
            payload={},
            status=OutboxStatus.FAILED,
            attempts=8,
            last_error="TransientError: SMTPServerDisconnected",
        )
        db.session.add(message)
        db.session.commit()
        message_id = message.id
        db.session.remove()
    return message_id


def test_admins_see_failed_messages_and_retry_them(app, client, login, admin, failed_message):
    login(client, admin)
    html = page(client.get("/notifications/failed"))
    assert "SMTPServerDisconnected" in html
    response = post_form(client, f"/notifications/failed/{failed_message}/retry")
    assert response.status_code == 302
    with app.app_context():
        message = db.session.get(OutboxMessage, failed_message)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert "SMTPServerDisconnected" not in page(client.get("/notifications/failed"))
    assert post_form(client, "/notifications/failed/99999/retry").status_code == 404


def test_others_may_not_see_or_retry_failed_messages(app, client, login, buyer, make_user, failed_message):
    login(client, buyer)
    assert client.get("/notifications/failed").status_code == 403
    assert post_form(client, f"/notifications/failed/{failed_message}/retry").status_code == 403
    client.post("/account/logout", data={})
    officer = make_user("officer", province_code=86)
    other = type(client)(client.application)
    login(other, officer)
    assert other.get("/notifications/failed").status_code == 403
    with app.app_context():
        assert db.session.get(OutboxMessage, failed_message).status is OutboxStatus.FAILED
