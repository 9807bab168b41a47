"""Orders placed over HTTP reach the cooperative's mailbox through Redis and a real worker, once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tests.support.shopper import Shopper

pytestmark = pytest.mark.postgres_only


def outbox(app) -> dict[str, str]:
    from ktt_market.extensions import db
    from ktt_market.notifications.models import Channel, OutboxMessage

    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == Channel.EMAIL)).all()
        result = {f"{m.kind}:{m.recipient}": str(m.status) for m in rows}
        db.session.remove()
        return result


def place_order(web, shop, quantity: int = 2) -> str:
    buyer = Shopper(web.url).login(shop["buyer"].email, shop["password"])
    buyer.add(shop["product"].id, quantity)
    return buyer.checkout()


def test_order_over_http_brings_the_cooperative_its_email_within_seconds(app, shop, web, worker, mailbox):
    worker.start()
    started = time.monotonic()
    number = place_order(web, shop)
    [mail] = mailbox.wait_for(1, to="manager@htx-buoi.vn", timeout=10)
    elapsed = time.monotonic() - started
    assert number in mail.subject
    assert "Bưởi da xanh" in mail.text()
    assert elapsed < 10
    # The buyer's receipt comes too, and nothing arrives twice.
    mailbox.wait_for(1, to="lan@example.vn", timeout=10)
    time.sleep(2)  # give a duplicate the time to show up
    assert len(mailbox.to("manager@htx-buoi.vn")) == 1
    assert len(mailbox.to("lan@example.vn")) == 1
    assert set(outbox(app).values()) == {"sent"}


def test_worker_killed_mid_delivery_still_delivers_exactly_once(app, shop, web, worker, mailbox):
    worker.start()
    mailbox.hold()  # the first e-mail stops in the middle of DATA
    place_order(web, shop)
    assert mailbox.in_flight.wait(15), worker.output()[-2000:]
    worker.kill()  # SIGKILL: no clean shutdown, no acknowledgement
    assert mailbox.received == []

    worker.start()  # the lapsed lease hands the message to the new worker
    mailbox.wait_for(1, to="manager@htx-buoi.vn", timeout=20)
    mailbox.wait_for(1, to="lan@example.vn", timeout=20)
    time.sleep(4)  # past another lease and dispatcher round: a second copy would arrive now
    assert mailbox.abandoned == 1
    assert len(mailbox.received) == 2
    assert len({m.message_id for m in mailbox.received}) == 2
    assert set(outbox(app).values()) == {"sent"}


def test_with_redis_stopped_orders_are_taken_and_every_mail_arrives_once_after(
    app, shop, web, worker, mailbox, redis_server
):
    from ktt_market.extensions import db
    from ktt_market.orders.models import Purchase

    worker.start()
    redis_server.stop()

    numbers = []
    for _ in range(2):
        t0 = time.monotonic()
        numbers.append(place_order(web, shop, quantity=1))
        assert time.monotonic() - t0 < 15  # login, cart and checkout: no page waits for Redis
    with app.app_context():
        assert set(db.session.scalars(select(Purchase.number))) == set(numbers)
        db.session.remove()
    time.sleep(2)
    assert mailbox.received == []  # nothing could be queued
    assert set(outbox(app).values()) == {"pending"}

    redis_server.start()  # same port, empty: the tasks that failed to publish are gone
    mailbox.wait_for(2, to="manager@htx-buoi.vn", timeout=30)
    mailbox.wait_for(2, to="lan@example.vn", timeout=30)
    time.sleep(3)
    assert len(mailbox.received) == 4
    subjects = sorted(m.subject for m in mailbox.to("manager@htx-buoi.vn"))
    assert all(any(n in s for s in subjects) for n in numbers)
    assert set(outbox(app).values()) == {"sent"}
