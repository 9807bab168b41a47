"""The whole background path for real: web (gunicorn) and a Celery worker as processes, Redis, and an SMTP server."""

from __future__ import annotations

import pytest

from tests.support.factories import PASSWORD
from tests.support.mailbox import Mailbox
from tests.support.processes import Web, Worker, app_env
from tests.support.services import RedisServer

# Short periods so a test sees retries, lapsed leases and the dispatcher within seconds.
FAST = {
    "NOTIFY_DISPATCH_SECONDS": "1",
    "NOTIFY_LEASE_SECONDS": "3",
    "NOTIFY_RETRY_BASE_SECONDS": "1",
    "NOTIFY_RETRY_CAP_SECONDS": "2",
    "HEARTBEAT_SECONDS": "2",
    "KTT_LOGIN_RATE_LIMIT": "1000 per minute",
    "KTT_PAGE_CACHE_SECONDS": "0",
    "KTT_BASE_URL": "http://shop.test",
}


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def stack_env(database_url, redis_server, mailbox, tmp_path):
    """The environment of the web and worker processes: the test database, Redis, the SMTP server."""
    return app_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mailbox.port),
        KTT_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="integration-test-secret",
        **FAST,
    )


@pytest.fixture
def web(stack_env, tmp_path):
    server = Web(stack_env, tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def worker(stack_env, tmp_path):
    proc = Worker(stack_env, tmp_path)
    yield proc  # started by the test, which may kill and restart it
    proc.stop()


@pytest.fixture
def shop(app, make_unit, make_staff, make_user, make_product):
    """A cooperative with a manager and a product, and a buyer, in the test database."""
    unit = make_unit(name="HTX Bưởi Trà Vinh")
    manager = make_staff(unit, make_user(full_name="Trần Văn Bưởi", email="manager@htx-buoi.vn"))
    product = make_product(unit, name="Bưởi da xanh", price_vnd=60_000, stock=50)
    buyer = make_user(full_name="Nguyễn Thị Lan", email="lan@example.vn")
    return {"unit": unit, "manager": manager, "product": product, "buyer": buyer, "password": PASSWORD}
