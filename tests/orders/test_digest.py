"""The managers' daily digest: what it says, to whom, once, for the right local day, in their language."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from ktt_market.catalog.models import Product
from ktt_market.core.i18n import VN_TZ
from ktt_market.extensions import db
from ktt_market.notifications import services as notification_services
from ktt_market.notifications import tasks as notification_tasks
from ktt_market.notifications.channels import EmailChannel, short_text
from ktt_market.notifications.models import Channel, Kind, Notification, OutboxMessage
from ktt_market.orders import digest
from ktt_market.orders.models import OrderStatus, Review
from ktt_market.registry.models import PlatformStatus, StaffRole
from tests.conftest import post_form

pytestmark = pytest.mark.core

DAY = dt.date(2026, 11, 20)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Return a Vietnam wall-clock time as a UTC instant (how timestamps are stored)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=VN_TZ).astimezone(dt.UTC)


@pytest.fixture
def shop(app, coops, products, staff_a, staff_b, make_staff, make_user, buyer, make_order):
    """Cooperative A with an owner and a staff member, orders on DAY and before; B quiet."""
    a, _b = coops
    clerk = make_staff(a, make_user(full_name="Phạm Thị Kho", locale="vi"), role=StaffRole.STAFF)
    pomelo, rice = products["pomelo"], products["rice"]
    with app.app_context():
        # B's coconut: 3 left, above an alert at 1; B has nothing to say.
        db.session.get(Product, products["coconut"].id).low_stock_threshold = 1
        db.session.commit()
    orders = {
        "placed": make_order(a, buyer, [(pomelo, 2)], status=OrderStatus.PLACED, placed_at=local(DAY, 9)),
        "confirmed": make_order(a, buyer, [(rice, 10)], status=OrderStatus.CONFIRMED, placed_at=local(DAY, 14)),
        # Neither an unpaid checkout nor a cancelled order is news to fulfil.
        "unpaid": make_order(a, buyer, [(pomelo, 1)], status=OrderStatus.PENDING_PAYMENT, placed_at=local(DAY, 10)),
        "cancelled": make_order(a, buyer, [(pomelo, 1)], status=OrderStatus.CANCELLED, placed_at=local(DAY, 11)),
        # Still waiting from two days before: counted as waiting, not as new.
        "old": make_order(
            a, buyer, [(pomelo, 1)], status=OrderStatus.PLACED, placed_at=local(DAY - dt.timedelta(days=2), 8)
        ),
    }
    return {"a": a, "b": coops[1], "owner": staff_a, "clerk": clerk, "other": staff_b, "orders": orders}


def run(app, day=DAY) -> tuple[int, int]:
    with app.app_context():
        result = digest.send_daily_digests(day)
        db.session.commit()
        db.session.remove()
    return result


def digest_rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == Kind.DAILY_DIGEST).order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
    return rows


def test_a_digest_counts_the_days_orders_lists_low_stock_and_skips_a_quiet_unit(app, shop, make_product):
    a = shop["a"]
    make_product(a, name="Mật ong rừng", stock=2, low_stock_threshold=5)
    make_product(a, name="Khô cá lóc", stock=0, low_stock_threshold=0)  # at its threshold: listed
    make_product(a, name="Mắm cũ", stock=1, low_stock_threshold=5, published=False)  # off sale: not listed
    with app.app_context():
        digests = {d.unit_id: d for d in digest.build_digests(DAY)}
    mine = digests[a.id]
    assert mine.new_count == 2
    assert mine.new_total_vnd == 2 * 60_000 + 10 * 25_000
    assert [o["number"] for o in mine.new_orders] == [
        shop["orders"]["placed"].number,
        shop["orders"]["confirmed"].number,
    ]
    assert mine.new_orders[0]["link"] == f"/orders/units/{a.id}/{shop['orders']['placed'].order_id}"
    assert mine.waiting_count == 2 and mine.waiting_since == DAY - dt.timedelta(days=2)
    assert [(p["name"], p["stock"], p["threshold"]) for p in mine.low_stock] == [
        ("Khô cá lóc", 0, 0),
        ("Mật ong rừng", 2, 5),
    ]
    assert mine.low_stock_count == 2
    quiet = digests[shop["b"].id]
    assert not quiet.has_news and quiet.low_stock == [] and quiet.new_orders == []


def test_only_the_units_managers_are_told_once_per_channel(app, shop):
    assert run(app) == (1, 4)  # A only: its owner and its staff member, e-mail and inbox each
    rows = digest_rows(app)
    assert {r.user_id for r in rows} == {shop["owner"].id, shop["clerk"].id}
    assert {str(r.channel) for r in rows} == {"email", "inapp"}
    assert rows[0].key == f"daily_digest:unit:{shop['a'].id}:{DAY.isoformat()}:{shop['owner'].id}:email"
    assert rows[0].payload["new_count"] == 2


def test_running_twice_for_a_day_sends_once_and_another_day_again(app, shop, runner):
    assert run(app)[1] == 4
    assert run(app) == (1, 0)
    result = runner.invoke(args=["orders", "digest", "--day", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "0 message(s)" in result.output
    assert len(digest_rows(app)) == 4
    # The next day still has two orders waiting: a new digest.
    result = runner.invoke(args=["orders", "digest", "--day", (DAY + dt.timedelta(days=1)).isoformat()])
    assert "1 unit(s) with news, 4 message(s)" in result.output
    assert len(digest_rows(app)) == 8


def test_the_cli_refuses_a_day_that_is_not_a_date(runner):
    result = runner.invoke(args=["orders", "digest", "--day", "20/11/2026"])
    assert result.exit_code != 0
    assert "--day" in result.output


def test_the_task_reports_on_yesterday_in_vietnam(app, shop, monkeypatch):
    from ktt_market.orders import tasks

    monkeypatch.setattr(digest, "local_today", lambda: DAY + dt.timedelta(days=1))
    assert tasks.daily_digest() == 4
    assert digest_rows(app)[0].payload["day"] == DAY.isoformat()
    assert tasks.daily_digest(DAY.isoformat()) == 0


def test_the_local_day_decides_not_the_utc_one(app, coops, products, staff_a, buyer, make_order):
    a = coops[0]
    pomelo = products["pomelo"]
    early = make_order(a, buyer, [(pomelo, 1)], status=OrderStatus.CONFIRMED, placed_at=local(DAY, 0, 5))
    late = make_order(a, buyer, [(pomelo, 1)], status=OrderStatus.CONFIRMED, placed_at=local(DAY, 23, 30))
    make_order(
        a, buyer, [(pomelo, 1)], status=OrderStatus.CONFIRMED, placed_at=local(DAY + dt.timedelta(days=1), 0, 10)
    )
    make_order(a, buyer, [(pomelo, 1)], status=OrderStatus.CONFIRMED, placed_at=local(DAY, 0) - dt.timedelta(minutes=1))
    # 00:05 local is still the previous day in UTC: the UTC date alone would get this wrong.
    assert local(DAY, 0, 5).date() == DAY - dt.timedelta(days=1)
    with app.app_context():
        (mine,) = [d for d in digest.build_digests(DAY) if d.unit_id == a.id]
    assert [o["number"] for o in mine.new_orders] == [early.number, late.number]
    assert mine.new_count == 2


def test_unapproved_units_inactive_managers_and_buyers_get_nothing(app, make_unit, make_staff, make_user, buyer):
    from ktt_market.accounts.models import User

    pending = make_unit(name="HTX Chờ duyệt", platform_status=PlatformStatus.PENDING)
    make_staff(pending, make_user())
    dissolved = make_unit(name="HTX Giải thể", dissolved_on=dt.date(2026, 1, 1))
    make_staff(dissolved, make_user())
    live = make_unit(name="HTX Đang bán")
    gone = make_staff(live, make_user())
    with app.app_context():
        db.session.get(User, gone.id).active = False
        db.session.commit()
    for unit in (pending, dissolved, live):
        with app.app_context():
            db.session.add(
                Product(
                    unit_id=unit.id,
                    category_id=2,
                    sku=f"LOW{unit.id}",
                    name="Sắp hết",
                    price_vnd=10_000,
                    stock=1,
                    published=True,
                    province_code=unit.province_code,
                )
            )
            db.session.commit()
    assert run(app) == (0, 0)
    assert digest_rows(app) == []


def test_a_manager_who_turned_the_digest_off_gets_only_what_is_left(app, shop, client, login):
    login(client, shop["owner"])
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "Daily summary for cooperative managers" in page
    assert 'name="daily_digest:email"' in page
    response = post_form(client, "/notifications/settings", {"daily_digest:inapp": "1"}, follow_redirects=False)
    assert response.status_code == 302
    run(app)
    owner_channels = {str(r.channel) for r in digest_rows(app) if r.user_id == shop["owner"].id}
    assert owner_channels == {"inapp"}


def test_new_reviews_are_counted_and_are_news(app, coops, products, staff_a, buyer, make_order):
    a = coops[0]
    pomelo = products["pomelo"]
    order = make_order(a, buyer, [(pomelo, 1)] * 4, placed_at=local(DAY - dt.timedelta(days=9), 9))
    written = [
        (local(DAY, 0, 1), None),
        (local(DAY, 20), local(DAY, 21)),  # hidden by an officer: shown to nobody
        (local(DAY, 23, 59), None),
        (local(DAY + dt.timedelta(days=1), 0, 1), None),
    ]
    with app.app_context():
        for line_id, (when, hidden) in zip(order.line_ids, written, strict=True):
            db.session.add(
                Review(
                    order_line_id=line_id,
                    product_id=pomelo.id,
                    unit_id=a.id,
                    buyer_id=buyer.id,
                    product_rating=5,
                    unit_rating=5,
                    created_at=when,
                    hidden_at=hidden,
                )
            )
        db.session.commit()
        (mine,) = [d for d in digest.build_digests(DAY) if d.unit_id == a.id]
    assert mine.new_reviews == 2
    assert mine.has_news and mine.new_count == 0


def _message(app, user, channel: Channel) -> OutboxMessage:
    return next(r for r in digest_rows(app) if r.user_id == user.id and r.channel is channel)


def test_the_email_speaks_vietnamese_by_default(app, shop, make_product):
    make_product(shop["a"], name="Mật ong rừng", stock=2, low_stock_threshold=5)
    run(app)
    message = _message(app, shop["clerk"], Channel.EMAIL)
    assert message.locale == "vi"
    with app.app_context():
        mail = EmailChannel().build(message)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "HTX Bưởi Trà Vinh" in mail["Subject"] and "20/11/2026" in mail["Subject"]
    assert "Xin chào Phạm Thị Kho," in text
    assert "370.000\xa0₫" in text  # 2 × 60.000 + 10 × 25.000, the Vietnamese way
    assert shop["orders"]["placed"].number in text
    assert f"http://ktt.test/orders/units/{shop['a'].id}/{shop['orders']['placed'].order_id}" in text
    assert "Mật ong rừng" in text
    assert shop["orders"]["unpaid"].number not in text
    assert f'href="http://ktt.test/orders/units/{shop["a"].id}/{shop["orders"]["confirmed"].order_id}"' in html
    assert "Mật ong rừng" in html and "18/11/2026" in html


def test_the_email_speaks_english_to_a_manager_who_chose_it(app, shop):
    run(app)
    message = _message(app, shop["owner"], Channel.EMAIL)  # the orders tests' users read English
    assert message.locale == "en"
    with app.app_context():
        mail = EmailChannel().build(message)
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Daily summary of HTX Bưởi Trà Vinh for 20/11/2026"
    assert "2 new orders, worth ₫370,000:" in text
    assert "2 orders are waiting for your confirmation, the oldest since 18/11/2026:" in text
    assert "Hello Trần Văn Bưởi," in text


def test_the_inbox_shows_a_one_line_summary(app, shop, client, login):
    run(app)
    message = _message(app, shop["owner"], Channel.INAPP)
    assert notification_tasks.deliver(message.id) == "sent"
    with app.app_context():
        note = db.session.scalars(select(Notification).where(Notification.user_id == shop["owner"].id)).one()
        assert note.link == f"/orders/units/{shop['a'].id}/incoming"
        assert note.body == "HTX Bưởi Trà Vinh, 20/11/2026: 2 new orders (₫370,000); 2 waiting for confirmation."
        assert len(short_text(message)) <= 400
    login(client, shop["owner"])
    page = client.get("/notifications").get_data(as_text=True)
    assert "Daily summary of HTX Bưởi Trà Vinh for 20/11/2026" in page


def test_the_beat_runs_the_digest_at_seven_in_the_morning_vietnam_time(app):
    entry = app.extensions["celery"].conf.beat_schedule["orders-daily-digest"]
    assert entry["task"] == "orders.daily_digest"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}
    assert app.extensions["celery"].conf.timezone == "Asia/Ho_Chi_Minh"


def _statements(app, fn) -> list[str]:
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            fn()
        finally:
            event.remove(engine, "before_cursor_execute", record)
            db.session.rollback()
            db.session.remove()
    return seen


def test_the_number_of_queries_does_not_grow_with_the_units(
    app, db_backend, make_unit, make_staff, make_user, make_product, make_order, buyer
):
    def add_units(count):
        for _ in range(count):
            unit = make_unit()
            make_staff(unit, make_user())
            make_staff(unit, make_user(), role=StaffRole.STAFF)
            product = make_product(unit, stock=3, low_stock_threshold=5)
            make_order(unit, buyer, [(product, 1)], status=OrderStatus.PLACED, placed_at=local(DAY, 10))

    add_units(1)
    one = _statements(app, lambda: digest.send_daily_digests(DAY))
    add_units(19)
    twenty = _statements(app, lambda: digest.send_daily_digests(DAY))

    def reads(statements):
        return [s for s in statements if not s.lstrip().upper().startswith("INSERT")]

    assert len(reads(one)) == len(reads(twenty)) == 7, (reads(one), reads(twenty))
    if db_backend == "postgresql":
        # PostgreSQL also writes the 80 outbox rows in one batched INSERT; SQLite's driver inserts row by row.
        assert len(one) == len(twenty) == 8
    with app.app_context():
        assert digest.send_daily_digests(DAY) == (20, 80)
        db.session.rollback()


def test_notify_many_adds_nothing_already_owed(app, shop):
    from ktt_market.accounts.models import User

    with app.app_context():
        owner = db.session.get(User, shop["owner"].id)
        payload = {"unit_name": "HTX", "day": DAY.isoformat()}
        first = notification_services.notify_many(Kind.DAILY_DIGEST, [(owner, payload, "x"), (owner, payload, "x")])
        assert len(first) == 2  # e-mail and inbox, once though asked twice
        again = notification_services.notify_many(Kind.DAILY_DIGEST, [(owner, payload, "x")])
        assert again == []
        db.session.rollback()


def test_a_checkout_to_the_threshold_warns_at_once_and_the_digest_lists_it_again(
    app, coops, products, staff_a, buyer, place
):
    from ktt_market.core.i18n import local_today

    number = place(buyer, {products["pomelo"]: 5})  # 10 -> 5: reaches the alert of 5
    with app.app_context():
        warned = db.session.scalars(select(OutboxMessage.user_id).where(OutboxMessage.kind == Kind.LOW_STOCK)).all()
        assert warned == [staff_a.id, staff_a.id]  # e-mail and inbox, at checkout
        (mine,) = [d for d in digest.build_digests(local_today()) if d.unit_id == coops[0].id]
    # The event fires once, on crossing; the digest reminds every morning while it stays low.
    assert [(p["name"], p["stock"]) for p in mine.low_stock] == [("Bưởi da xanh", 5)]
    assert [o["number"] for o in mine.new_orders] == [number] and mine.waiting_count == 1
