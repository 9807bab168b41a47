"""Delivery: each message sent once, retried with backoff, failed after the limit, in the right language."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

import pytest
from sqlalchemy import select

from ktt_market.accounts.models import User
from ktt_market.core.models import utcnow
from ktt_market.extensions import db
from ktt_market.notifications import channels, services, tasks
from ktt_market.notifications.models import Kind, Notification, OutboxMessage, OutboxStatus

pytestmark = pytest.mark.core


@pytest.fixture
def owe(app):
    """Commit the messages `notify` owes `user`; return their ids by channel."""

    def do(user, kind=Kind.ORDER_CONFIRMED, payload=None, object_key="order-1") -> dict[str, int]:
        payload = payload or {
            "number": "KTT-ABCD2345",
            "unit_name": "HTX Bưởi Trà Vinh",
            "link": "/orders/KTT-ABCD2345",
        }
        with app.app_context():
            added = services.notify(kind, user=db.session.get(User, user.id), payload=payload, object_key=object_key)
            db.session.commit()
            ids = {str(m.channel): m.id for m in added}
            db.session.remove()
        return ids

    return do


def load(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        db.session.expunge(message)
    return message


def test_a_message_delivered_twice_is_sent_once(app, smtp, buyer, owe):
    ids = owe(buyer)
    assert tasks.deliver(ids["email"]) == "sent"
    assert tasks.deliver(ids["email"]) == "skipped"
    assert len(smtp.sent) == 1
    message = load(app, ids["email"])
    assert message.status is OutboxStatus.SENT and message.sent_at is not None and message.attempts == 0
    mail = smtp.sent[0]
    assert mail["To"] == buyer.email
    # The Message-ID comes from the outbox key alone: a resend after a crash carries the same one.
    assert mail["Message-ID"] == channels.message_id(message.key, app.config["MAIL_DEFAULT_SENDER"])
    assert message.key.replace(":", ".") in mail["Message-ID"]


def test_a_claimed_message_is_left_alone_until_its_lease_lapses(app, smtp, buyer, owe):
    ids = owe(buyer)
    with app.app_context():
        assert tasks.claim(ids["email"])  # a worker took it ... and died
    assert tasks.deliver(ids["email"]) == "skipped"
    assert smtp.sent == []
    with app.app_context():
        db.session.get(OutboxMessage, ids["email"]).claimed_until = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    assert tasks.deliver(ids["email"]) == "sent"
    assert len(smtp.sent) == 1


def test_a_passing_failure_retries_with_backoff_then_fails_after_max_attempts(app, smtp, buyer, owe):
    ids = owe(buyer)
    smtp.fail_with = smtplib.SMTPServerDisconnected("connection lost")
    before = utcnow()
    assert tasks.deliver(ids["email"]) == "pending"
    message = load(app, ids["email"])
    assert message.attempts == 1 and message.status is OutboxStatus.PENDING
    base = app.config.get("NOTIFY_RETRY_BASE_SECONDS", 30)
    wait = (message.next_attempt_at - before).total_seconds()
    assert base * 2 * 0.5 - 1 <= wait <= base * 2 * 1.5 + 1
    assert message.last_error.startswith("TransientError")
    assert tasks.deliver(ids["email"]) == "skipped"  # not due yet

    for attempt in range(2, 9):
        with app.app_context():
            db.session.get(OutboxMessage, ids["email"]).next_attempt_at = utcnow() - dt.timedelta(seconds=1)
            db.session.commit()
        result = tasks.deliver(ids["email"])
        assert result == ("failed" if attempt == 8 else "pending")
    message = load(app, ids["email"])
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 8)
    assert smtp.sent == []


@pytest.mark.parametrize("attempts", [1, 3, 7, 12])
def test_backoff_doubles_up_to_the_cap_with_jitter(app, attempts):
    with app.app_context():
        for _ in range(50):
            wait = tasks.backoff_seconds(attempts)
            expected = min(3600, 30 * 2**attempts)
            assert 0.5 * expected <= wait <= 1.5 * expected


def test_a_refused_recipient_fails_at_once(app, smtp, buyer, owe):
    ids = owe(buyer)
    smtp.fail_with = smtplib.SMTPRecipientsRefused({buyer.email: (550, b"no such user")})
    assert tasks.deliver(ids["email"]) == "failed"
    message = load(app, ids["email"])
    assert buyer.email not in message.last_error


def test_inbox_delivery_adds_the_notification(app, buyer, owe):
    ids = owe(buyer)
    assert tasks.deliver(ids["inapp"]) == "sent"
    assert tasks.deliver(ids["inapp"]) == "skipped"
    with app.app_context():
        notes = db.session.scalars(select(Notification)).all()
        assert len(notes) == 1
        assert notes[0].user_id == buyer.id and "KTT-ABCD2345" in notes[0].title
        assert notes[0].link == "/orders/KTT-ABCD2345"
        assert services.unread_count(buyer.id) == 1


def test_email_is_vietnamese_by_default_and_english_for_english_readers(app, buyer, english_buyer, owe):
    payload = {"role": "buyer", "number": "KTT-ABCD2345", "total_vnd": 150_000, "units": ["HTX Bưởi"], "link": "/x"}
    vi = owe(buyer, Kind.ORDER_PLACED, payload)
    en = owe(english_buyer, Kind.ORDER_PLACED, payload)
    with app.app_context():
        vi_mail = channels.EmailChannel().build(db.session.get(OutboxMessage, vi["email"]))
        en_mail = channels.EmailChannel().build(db.session.get(OutboxMessage, en["email"]))
    vi_text = vi_mail.get_body(("plain",)).get_content()
    vi_html = vi_mail.get_body(("html",)).get_content()
    assert "Xin chào Nguyễn Thị Lan," in vi_text and "150.000\xa0₫" in vi_text
    assert 'lang="vi"' in vi_html and "Xin chào Nguyễn Thị Lan," in vi_html
    en_text = en_mail.get_body(("plain",)).get_content()
    assert "Hello Jane Doe," in en_text and "Thank you for your order KTT-ABCD2345" in en_text
    assert 'lang="en"' in en_mail.get_body(("html",)).get_content()
    assert "http://ktt.test/x" in en_text


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_on_every_channel(app, kind, buyer, owe):
    payload = {
        "role": "staff",
        "number": "KTT-ABCD2345",
        "unit_name": "HTX Bưởi Trà Vinh",
        "subtotal_vnd": 60_000,
        "total_vnd": 60_000,
        "units": ["HTX Bưởi Trà Vinh"],
        "lines": [["Bưởi da xanh", 2, "kg"]],
        "reason": "Hết hàng",
        "carrier": "Viettel Post",
        "tracking_code": "VP1",
        "product_name": "Bưởi da xanh",
        "stock": 4,
        "threshold": 5,
        "expires_at": utcnow().isoformat(),
        "link": "/x",
    }
    ids = owe(buyer, kind, payload, object_key=f"all-{kind}")
    with app.app_context():
        message = db.session.get(OutboxMessage, ids["email"])
        mail = channels.EmailChannel().build(message)
        assert mail["Subject"] and mail.get_body(("plain",)).get_content().strip()
        assert 0 < len(channels.short_text(message)) <= channels.SMS_MAX_CHARS


def test_sms_is_logged_short_with_only_the_last_digits(app, buyer, owe, caplog):
    with app.app_context():
        user = db.session.get(User, buyer.id)
        services.set_preferences(user, actor=user, chosen=[("order_rejected", "sms")])
        db.session.commit()
    ids = owe(buyer, Kind.ORDER_REJECTED, {"number": "KTT-1", "unit_name": "HTX", "reason": "Lý do " * 200})
    with caplog.at_level(logging.INFO, logger="ktt_market.notifications"):
        assert tasks.deliver(ids["sms"]) == "sent"
    logged = caplog.text
    assert "order_rejected" in logged and "...678" in logged
    assert "0912345678" not in logged and "Lý do" not in logged


def test_a_text_over_400_characters_fails_without_retrying(app, buyer, owe):
    with app.app_context():
        user = db.session.get(User, buyer.id)
        services.set_preferences(user, actor=user, chosen=[("low_stock", "zalo")])
        db.session.commit()
    ids = owe(buyer, Kind.LOW_STOCK, {"product_name": "Bưởi " * 100, "stock": 1, "threshold": 5})
    assert tasks.deliver(ids["zalo"]) == "failed"
    assert "over 400" in load(app, ids["zalo"]).last_error


def test_dispatcher_hands_out_due_messages_only(app, buyer, owe, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: queued.append(args[0]))
    ids = owe(buyer)
    with app.app_context():
        db.session.get(OutboxMessage, ids["inapp"]).next_attempt_at = utcnow() + dt.timedelta(minutes=5)
        db.session.commit()
    assert tasks.dispatch_pending() == 1
    assert queued == [ids["email"]]


def test_dispatcher_queues_a_message_once_per_lease_even_when_the_queue_is_slow(app, buyer, owe, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: queued.append(args[0]))
    ids = owe(buyer)
    assert sorted(queued) == [] and tasks.dispatch_pending() == 2
    # No worker took them yet: the next rounds add no copies to the queue.
    assert tasks.dispatch_pending() == 0 and tasks.dispatch_pending() == 0
    assert sorted(queued) == sorted(ids.values())
    # The queued task still delivers (the dispatcher's mark is not a worker's claim).
    assert tasks.deliver(ids["inapp"]) == "sent"
    # Once the lease lapses without a delivery (the queue lost the task), it is queued again.
    with app.app_context():
        db.session.get(OutboxMessage, ids["email"]).claimed_until = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    assert tasks.dispatch_pending() == 1
    assert queued[-1] == ids["email"]


def test_dispatcher_leaves_what_the_broker_refused_for_the_next_round(app, buyer, owe, monkeypatch, caplog):
    def refuse(args, **kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.deliver, "apply_async", refuse)
    owe(buyer)
    assert tasks.dispatch_pending() == 0
    assert "left for later" in caplog.text
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: queued.append(args[0]))
    assert tasks.dispatch_pending() == 2  # at once, not after a lease
    assert len(queued) == 2


def test_new_rows_are_kicked_after_commit_and_a_broker_outage_changes_nothing(app, buyer, monkeypatch, caplog):
    kicked = []
    monkeypatch.setitem(app.config, "NOTIFY_KICK_AFTER_COMMIT", True)
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: kicked.append(args[0]))
    with app.app_context():
        user = db.session.get(User, buyer.id)
        services.notify(Kind.UNIT_APPROVED, user=user, payload={}, object_key="rolled-back")
        db.session.rollback()
        assert kicked == []
        added = services.notify(Kind.UNIT_APPROVED, user=db.session.get(User, buyer.id), payload={}, object_key="a")
        ids = sorted(m.id for m in added)
        db.session.commit()
        assert sorted(kicked) == ids

    def broker_down(args, **kw):
        raise ConnectionRefusedError("redis is away")

    monkeypatch.setattr(tasks.deliver, "apply_async", broker_down)
    with app.app_context():
        services.notify(Kind.UNIT_REJECTED, user=db.session.get(User, buyer.id), payload={}, object_key="b")
        db.session.commit()  # no error: the dispatcher will find the rows
        pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "unit_rejected")).all()
        assert len(pending) == 2 and all(m.status is OutboxStatus.PENDING for m in pending)
    assert "broker unavailable" in caplog.text


def test_admin_retry_resets_a_failed_message(app, smtp, buyer, admin, owe):
    ids = owe(buyer)
    smtp.fail_with = smtplib.SMTPRecipientsRefused({})
    tasks.deliver(ids["email"])
    with app.app_context():
        message = db.session.get(OutboxMessage, ids["email"])
        services.retry_failed(message, actor=db.session.get(User, admin.id))
        db.session.commit()
    message = load(app, ids["email"])
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.PENDING, 0, None)
    smtp.fail_with = None
    assert tasks.deliver(ids["email"]) == "sent"


def test_without_a_mail_server_the_email_goes_to_the_console(app, buyer, owe, capsys):
    ids = owe(buyer)
    assert tasks.deliver(ids["email"]) == "sent"
    printed = capsys.readouterr().err
    assert f"e-mail to {buyer.email}" in printed and "Xin chào Nguyễn Thị Lan," in printed


def test_an_sms_provider_is_a_registered_class(app, buyer, owe, monkeypatch):
    sent = []

    class FakeProvider(channels.BaseChannel):
        def send(self, message):
            sent.append((self.name, channels.short_text(message)))

    monkeypatch.setitem(channels.PROVIDERS, "fake", FakeProvider)
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PROVIDER", "fake")
    with app.app_context():
        user = db.session.get(User, buyer.id)
        services.set_preferences(user, actor=user, chosen=[("unit_approved", "sms")])
        db.session.commit()
    ids = owe(buyer, Kind.UNIT_APPROVED, {"unit_name": "HTX Rau sạch"})
    assert tasks.deliver(ids["sms"]) == "sent"
    assert sent and sent[0][0] == "sms" and "HTX Rau sạch" in sent[0][1]


def test_a_backlog_drains_in_one_run_batch_after_batch(app, buyer, owe, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: queued.append(args[0]))
    for n in range(5):
        owe(buyer, object_key=f"order-{n}")  # two channels each: ten messages
    assert tasks.dispatch_pending(limit=3) == 10
    assert len(set(queued)) == 10
    monkeypatch.setitem(app.config, "NOTIFY_DISPATCH_MAX", 4)
    for n in range(5, 8):
        owe(buyer, object_key=f"order-{n}")
    assert tasks.dispatch_pending(limit=3) == 4  # the cap: the rest waits for the next run
    assert tasks.dispatch_pending(limit=3) == 2
