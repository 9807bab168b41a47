"""What the fault suite relies on, without processes: a 503 page while the database is away, and a
photo refused on a full disk with nothing kept."""

from __future__ import annotations

import errno
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

pytestmark = pytest.mark.core


def test_database_away_gives_a_503_page_that_asks_nothing_of_the_database(app, client, make_user, login, monkeypatch):
    from ktt_market.extensions import db

    login(client, make_user())  # a logged-in page would ask for its user and cart: this one must not

    def away():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setitem(app.view_functions, "core.health", away)
    with app.app_context():
        engine = db.engine
    queries = []

    def count(*args, **kwargs):
        queries.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert '<html lang="vi">' in page
    assert "Traceback" not in page
    assert queries == []


def test_a_full_disk_refuses_the_photo_and_keeps_nothing(ctx, tmp_path):
    from ktt_market.core.images import StorageFull, store_image
    from ktt_market.core.storage import LocalStorage

    class FullAfterOne(LocalStorage):
        saved = 0

        def save(self, key, data, content_type):
            if self.saved:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.saved += 1
            super().save(key, data, content_type)

    out = BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "PNG")
    with pytest.raises(StorageFull) as refused:
        store_image(out.getvalue(), storage=FullAfterOne(tmp_path))
    assert refused.value.field == "file"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # the photo stored first was taken back


def test_any_error_while_the_database_is_away_still_gets_the_503_page(app, client, make_user, login, monkeypatch):
    """Not only OperationalError: an unexpected error whose page would query a dead database, or a database
    error raised because the connection died, gets the page that asks the database nothing."""
    from sqlalchemy.exc import DBAPIError

    from ktt_market.extensions import db

    login(client, make_user())
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:

        def broken_connection():
            raise DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True)

        monkeypatch.setitem(app.view_functions, "core.health", broken_connection)
        first = client.get("/healthz")
        assert first.status_code == 503 and "Traceback" not in first.get_data(as_text=True)

        with app.app_context():
            engine = db.engine

        def dead(*args, **kwargs):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

        def bug_then_dead_database():
            # The usual 500 page asks for the user and the cart: the database is gone by then.
            event.listen(engine, "before_cursor_execute", dead)
            raise RuntimeError("a bug")

        monkeypatch.setitem(app.view_functions, "core.health", bug_then_dead_database)
        try:
            second = client.get("/healthz")
        finally:
            event.remove(engine, "before_cursor_execute", dead)
        assert second.status_code == 503 and "Traceback" not in second.get_data(as_text=True)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
