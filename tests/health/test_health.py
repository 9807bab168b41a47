"""The heartbeat task and the admin page on background work."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.core


def _beats(app):
    from ktt_market.extensions import db
    from ktt_market.health.models import WorkerHeartbeat

    with app.app_context():
        return {h.hostname: h.beats for h in db.session.query(WorkerHeartbeat)}


def beat(tasks, hostname: str) -> None:
    """Run the heartbeat task as worker `hostname` would."""
    tasks.heartbeat.push_request(hostname=hostname)
    try:
        tasks.heartbeat.run()
    finally:
        tasks.heartbeat.pop_request()


def test_heartbeat_records_each_run_per_worker(app):
    from ktt_market.health import tasks

    with app.app_context():
        for hostname in ("worker-a@host", "worker-a@host", "worker-b@host"):
            beat(tasks, hostname)
    assert _beats(app) == {"worker-a@host": 2, "worker-b@host": 1}


def test_admin_sees_live_worker_queue_and_outbox(app, client, make_user, login):
    from ktt_market.health import tasks

    with app.app_context():
        beat(tasks, "celery@shop-1")
    login(client, make_user("admin"))
    page = client.get("/admin/health/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "celery@shop-1" in html
    assert 'id="queue-length">0<' in html  # the embedded broker answers, nothing waits
    assert 'id="outbox-pending">0<' in html


def test_silent_worker_and_failed_messages_are_flagged(app, client, make_user, login):
    from ktt_market.core.models import utcnow
    from ktt_market.extensions import db
    from ktt_market.health.models import WorkerHeartbeat
    from ktt_market.notifications.models import Channel, OutboxMessage, OutboxStatus

    admin = make_user("admin")
    with app.app_context():
        old = utcnow() - dt.timedelta(minutes=10)
        db.session.add(WorkerHeartbeat(hostname="celery@gone", seen_at=old, started_at=old, beats=5))
        db.session.add(
            OutboxMessage(
                key="order_placed:o1:1:email",
                channel=Channel.EMAIL,
                user_id=admin.id,
                recipient="a@example.vn",
                kind="order_placed",
                status=OutboxStatus.FAILED,
                attempts=8,
            )
        )
        db.session.commit()
    login(client, admin)
    html = client.get("/admin/health/").get_data(as_text=True)
    assert "celery@gone" in html
    assert "Không có worker nào báo trong" in html or "No worker has reported in the last" in html
    assert 'id="outbox-failed">1' in html
    assert "/notifications/failed" in html


def test_broker_down_is_reported_not_raised(app, client, make_user, login):
    from ktt_market.health import services

    conf = app.extensions["celery"].conf
    saved = conf.broker_url
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        login(client, make_user("admin"))
        page = client.get("/admin/health/")
        with app.test_request_context():
            assert services.queue_length() is None
    finally:
        conf.broker_url = saved
    assert page.status_code == 200
    assert "does not answer" in page.get_data(as_text=True) or "không trả lời" in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["buyer", "officer"])
def test_only_admins_see_the_page(client, make_user, login, role):
    login(client, make_user(role))
    assert client.get("/admin/health/").status_code == 403


def test_each_worker_beats_on_its_own_thread_until_it_stops(app):
    """Every worker records itself, whichever of them the periodic task lands on."""
    import time
    from types import SimpleNamespace

    from ktt_market.health.worker import heartbeat_step

    app.config["HEARTBEAT_SECONDS"] = 0.05
    try:
        steps = [heartbeat_step(app)(SimpleNamespace()) for _ in range(2)]
        for n, step in enumerate(steps):
            step.start(SimpleNamespace(hostname=f"worker-{n}@host"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and min(_beats(app).values(), default=0) < 3:
            time.sleep(0.05)
        for step in steps:
            step.stop(None)
    finally:
        app.config["HEARTBEAT_SECONDS"] = 30
    beats = _beats(app)
    assert set(beats) == {"worker-0@host", "worker-1@host"} and min(beats.values()) >= 3
    assert not any(step.thread.is_alive() for step in steps)
    time.sleep(0.2)
    assert _beats(app) == beats  # stopped: no more beats
