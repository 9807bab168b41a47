"""Test session: a real PostgreSQL (or SQLite with --db sqlite), one migrated schema, clean tables per test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=("postgresql", "sqlite"),
        default=os.environ.get("KTT_TEST_DB", "postgresql"),
        help="database backend for the suite (default: a PostgreSQL server started by the session)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL (skipped under --db sqlite)")
    _compile_translations()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") == "sqlite":
        skip = pytest.mark.skip(reason="PostgreSQL only")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


def _compile_translations() -> None:
    """Compile the .po catalogues when a .mo is missing or older (tests read the real translations)."""
    for po in (ROOT / "ktt_market" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(
                [sys.executable, "-m", "babel.messages.frontend", "compile", "-i", str(po), "-o", str(mo)],
                check=True,
                capture_output=True,
            )


@pytest.fixture(scope="session")
def db_backend(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(db_backend, tmp_path_factory):
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    import shutil
    import tempfile

    from tests.support.services import PostgresServer

    # Not under pytest's private temp folder: the postgres user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="ktt-test-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base).start()
    try:
        yield server.create_database("ktt_test")
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from ktt_market import create_app
    from ktt_market.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVER_NAME": "ktt.test",
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
            "RATELIMIT_STORAGE_URI": "memory://",
            # The embedded broker in a folder of the session's, never the developer's instance folder.
            "CELERY": {"broker_url": f"sqlite:///{tmp_path_factory.mktemp('broker') / 'celery-broker.db'}"},
        }
    )
    with app.app_context():
        upgrade()
        # Reference data the migrations seed (the category tree) survives the per-test cleaning.
        app.config["TEST_SEEDED_CATEGORY_IDS"] = sorted(db.session.scalars(text("SELECT id FROM categories")))
        app.config["TEST_SEEDED_RUBRIC_IDS"] = sorted(db.session.scalars(text("SELECT id FROM rubrics")))
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the server stops


_SEEDED_TABLES = {"categories", "rubrics", "rubric_criteria"}


@pytest.fixture(autouse=True)
def _session_celery(request):
    """Tasks run under the session's app, even after a test built another app (which became Celery's default).

    A task called from a thread (no app context of its own) takes Celery's default app, and with it that
    app's configuration: the mail server, the database.
    """
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions["celery"].set_default()
    yield


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after a test that touched the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from ktt_market.extensions import db, limiter

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in _SEEDED_TABLES]
        seeded = ",".join(str(i) for i in app.config["TEST_SEEDED_CATEGORY_IDS"]) or "0"
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            else:
                for name in reversed(tables):
                    conn.exec_driver_sql(f"DELETE FROM {name}")
            conn.exec_driver_sql(f"DELETE FROM categories WHERE id NOT IN ({seeded})")
            rubrics = ",".join(str(i) for i in app.config["TEST_SEEDED_RUBRIC_IDS"]) or "0"
            conn.exec_driver_sql(f"DELETE FROM rubric_criteria WHERE rubric_id NOT IN ({rubrics})")
            conn.exec_driver_sql(f"DELETE FROM rubrics WHERE id NOT IN ({rubrics})")
            # A test that added a version closed the seeded one: open it again.
            conn.exec_driver_sql(f"UPDATE rubrics SET last_year = NULL WHERE id IN ({rubrics})")
        limiter.reset()


@pytest.fixture
def ctx(app):
    """An application context with a request context, for calling services directly."""
    with app.test_request_context():
        yield
        from ktt_market.extensions import db

        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ---------------------------------------------------------------- factories
from tests.support.factories import *  # noqa: E402, F403

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """Read the CSRF token of this client's session from a page, as a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict | None = None, **kwargs):
    """POST a form with the session's CSRF token, like a browser submitting it."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_token(client))
    return client.post(path, data=payload, **kwargs)
