"""The embedded default, as `make run` starts it: SQLite database, SQLite broker, a real worker, no Redis."""

from __future__ import annotations

import sqlite3
import time

import pytest

from ktt_market.demo.data import DEMO_PASSWORD
from tests.support.mailbox import Mailbox
from tests.support.processes import Web, Worker, app_env, flask
from tests.support.shopper import Shopper

from .conftest import FAST


@pytest.fixture
def embedded(tmp_path):
    """A fresh instance folder with the demo data, served and worked on like `make run` does."""
    box = Mailbox().start()
    instance = tmp_path / "instance"
    env = app_env(KTT_INSTANCE_PATH=str(instance), MAIL_SERVER="127.0.0.1", MAIL_PORT=str(box.port), **FAST)
    env.pop("SECRET_KEY", None)  # generated into the instance folder, as on a fresh machine
    flask(env, "db", "upgrade")
    flask(env, "demo", "load")
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path)
    yield {"mailbox": box, "web": web, "worker": worker, "db": instance / "ktt_market.db", "instance": instance}
    worker.stop()
    web.stop()
    box.stop()


def managers_product(db_path) -> int:
    """Return a product of the demo cooperative that manager@ktt.vn runs."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT p.id FROM products p JOIN unit_staff s ON s.unit_id = p.unit_id JOIN users u ON u.id = s.user_id "
            "WHERE u.email = 'manager@ktt.vn' AND p.stock > 5 AND p.min_quantity = 1 ORDER BY p.id LIMIT 1"
        ).fetchone()[0]


def outbox_states(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM outbox_messages WHERE channel = 'email'")]


def test_embedded_broker_delivers_once_even_after_a_killed_worker(embedded):
    box, web, worker = embedded["mailbox"], embedded["web"], embedded["worker"]
    assert str(embedded["instance"]) in worker.env["KTT_INSTANCE_PATH"]
    worker.start()
    buyer = Shopper(web.url).login("buyer@ktt.vn", DEMO_PASSWORD)

    # 1. An order reaches the manager's mailbox within seconds.
    buyer.add(managers_product(embedded["db"]), 1)
    number = buyer.checkout()
    [mail] = box.wait_for(1, to="manager@ktt.vn", timeout=15)
    assert number in mail.subject

    # 2. A worker killed in the middle of a delivery: the next one sends that e-mail, once.
    box.wait_for(1, to="buyer@ktt.vn", timeout=15)
    box.hold()
    buyer.add(managers_product(embedded["db"]), 1)
    second = buyer.checkout()
    assert box.in_flight.wait(15), worker.output()[-2000:]
    worker.kill()
    worker.start()
    box.wait_for(2, to="manager@ktt.vn", timeout=30)
    box.wait_for(2, to="buyer@ktt.vn", timeout=30)
    time.sleep(4)
    assert box.abandoned == 1
    assert len(box.to("manager@ktt.vn")) == 2 and len(box.to("buyer@ktt.vn")) == 2
    assert any(second in m.subject for m in box.to("manager@ktt.vn"))
    assert set(outbox_states(embedded["db"])) == {"sent"}

    # 3. No worker at all: orders are still taken, and the mail follows once one runs.
    worker.stop()
    buyer.add(managers_product(embedded["db"]), 1)
    third = buyer.checkout()
    time.sleep(2)
    assert len(box.to("manager@ktt.vn")) == 2
    worker.start()
    box.wait_for(3, to="manager@ktt.vn", timeout=30)
    assert any(third in m.subject for m in box.to("manager@ktt.vn"))
