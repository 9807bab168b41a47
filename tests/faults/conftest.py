"""Fault suite: real processes (gunicorn, a Celery worker with beat, Redis, PostgreSQL, an SMTP server).

The parts are the integration suite's (its settings, and the Web, Worker, RedisServer and Mailbox
of tests/support), started once for the package rather than once per test: each start costs seconds
on a busy machine, and every scenario leaves the stack whole again, which is what it proves. This
file adds a PostgreSQL that can be stopped and started again on its port and data, a market of two
cooperatives and many buyers, and the tally each scenario prints in the terminal summary.
"""

from __future__ import annotations

import gc
import shlex
import subprocess
import warnings
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.conftest import FAST
from tests.support.factories import PASSWORD
from tests.support.mailbox import Mailbox
from tests.support.processes import Web, Worker, app_env
from tests.support.services import RedisServer, _as_postgres, _pg_bin

from . import summary


def pytest_configure(config):
    # Print the tallies (once, even when `-p tests.faults.summary` registered the plugin already).
    if not config.pluginmanager.is_registered(summary):
        config.pluginmanager.register(summary, "fault-tallies")


class PostgresControl:
    """Stop and start again the session's PostgreSQL server: same port, same data, same options."""

    def __init__(self, data_dir: Path, on_start=None):
        self.data = data_dir
        self.on_start = on_start
        # What the running server was started with: `postgres -D DIR -p PORT -k ...`.
        argv = shlex.split((data_dir / "postmaster.opts").read_text())
        opts, skip = [], False
        for arg in argv[1:]:
            if skip:
                skip = False
            elif arg == "-D":
                skip = True
            else:
                opts.append(arg)
        self.options = shlex.join(opts)

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, sessions cut, a checkpoint written."""
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        log = self.data.parent / "log"
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "-o", self.options, "start"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if self.on_start:
            self.on_start()


@pytest.fixture(scope="package")
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="package")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def stack(database_url, redis_server, mailbox, tmp_path_factory):
    """Gunicorn and a Celery worker with beat on the test database, Redis and the SMTP server."""
    base = tmp_path_factory.mktemp("stack")
    env = app_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mailbox.port),
        KTT_INSTANCE_PATH=str(base / "instance"),
        SECRET_KEY="fault-suite-secret",
        **FAST,
    )
    web = Web(env, base).start()
    worker = Worker(env, base).start()
    yield {"web": web, "worker": worker, "env": env, "base": base}
    worker.stop()
    web.stop()


@pytest.fixture
def web(stack, redis_server, mailbox):
    """The module's web server, with the worker and Redis running and an empty mailbox."""
    if redis_server.proc.poll() is not None:
        redis_server.start()  # a scenario that failed half-way left it stopped
    if stack["worker"].proc.poll() is not None:
        stack["worker"].start()
    with mailbox._cond:
        mailbox.received.clear()
    return stack["web"]


@pytest.fixture
def worker(stack):
    return stack["worker"]


@pytest.fixture
def postgres(app, db_backend):
    """The session's PostgreSQL server, to restart in the middle of a test."""
    from ktt_market.extensions import db

    if db_backend != "postgresql":
        pytest.skip("needs PostgreSQL")
    with app.app_context():
        data_dir = Path(db.session.scalar(text("SHOW data_directory")))
        db.session.remove()

    def forget_connections() -> None:
        # This process's own pool held connections the restart cut: the test reads with fresh ones.
        with app.app_context():
            db.engine.dispose()

    control = PostgresControl(data_dir, forget_connections)
    yield control
    # Whatever the test did, the rest of the session needs its server.
    done = subprocess.run(
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data_dir), "status"]), capture_output=True, check=False
    )
    if done.returncode != 0:
        control.start()
    # Connections the restart cut may still wait for the garbage collector; psycopg warns when it deletes one
    # in a broken state. Collect them now, quietly, rather than fail whichever test the collector next runs in.
    with app.app_context():
        db.engine.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def market(app, make_unit, make_staff, make_user, make_product):
    """Two cooperatives with one manager and one product each, and 21 buyers with both in their cart."""
    from ktt_market.extensions import db
    from ktt_market.orders import cart as carts

    units, staff, products = [], [], []
    for n, (name, product) in enumerate((("HTX Bưởi Trà Vinh", "Bưởi da xanh"), ("HTX Dừa Sáp Cầu Kè", "Dừa sáp"))):
        unit = make_unit(name=name)
        units.append(unit)
        staff.append(make_staff(unit, make_user(full_name=f"Quản lý {n}", email=f"manager{n}@htx.vn")))
        # Far above what the stream buys: no low-stock message joins the ones counted.
        products.append(make_product(unit, name=product, price_vnd=45_000 + n * 10_000, stock=5_000))
    buyers = [make_user(full_name=f"Người mua {n}", email=f"buyer{n}@example.vn") for n in range(21)]
    # The carts are filled directly: what is under test is the checkout, and HTTP adds cost seconds.
    with app.test_request_context():
        for buyer in buyers:
            cart = carts.cart_for_user(buyer.id, create=True)
            for product in products:
                carts.add_item(cart, product.id, 1)
        db.session.commit()
        db.session.remove()
    return {"units": units, "staff": staff, "products": products, "buyers": buyers, "password": PASSWORD}
