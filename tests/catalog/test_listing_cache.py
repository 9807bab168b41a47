"""Listing pages kept for a few seconds for anonymous visitors: fresh after a change, never shared tokens."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from ktt_market.extensions import db
from tests.conftest import post_form

pytestmark = pytest.mark.core

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def unit(make_unit):
    return make_unit(name="Hợp tác xã Bưởi Tân Triều")


@contextmanager
def counted_queries(app):
    """Count the SQL statements run while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_second_anonymous_visit_runs_no_query(app, unit, make_product):
    make_product(unit, name="Bưởi da xanh")
    first = app.test_client(use_cookies=False).get("/search")
    with counted_queries(app) as queries:
        again = app.test_client(use_cookies=False).get("/search")
    assert again.status_code == 200
    assert "Bưởi da xanh" in again.get_data(as_text=True)
    assert queries == []
    assert _TOKEN.sub("", again.get_data(as_text=True)) == _TOKEN.sub("", first.get_data(as_text=True))


def test_each_new_visitor_gets_a_token_of_their_own_that_works(app, unit, make_product):
    make_product(unit, name="Bưởi da xanh")
    responses = [app.test_client(use_cookies=False).get("/search") for _ in range(3)]
    tokens = {_TOKEN.search(r.get_data(as_text=True)).group(1) for r in responses}
    cookies = {r.headers["Set-Cookie"].split(";")[0] for r in responses}
    assert len(tokens) == 3 and len(cookies) == 3
    for r in responses:
        assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
        assert r.headers["X-Frame-Options"] == "DENY" and "Cookie" in r.headers["Vary"]

    # The language form of the last (cached) page works with that visitor's own cookie only.
    token = _TOKEN.search(responses[-1].get_data(as_text=True)).group(1)
    own = responses[-1].headers["Set-Cookie"].split(";")[0]
    other = responses[0].headers["Set-Cookie"].split(";")[0]
    client = app.test_client(use_cookies=False)
    form = {"lang": "en", "next": "/search", "csrf_token": token}
    assert client.post("/lang", data=form, headers={"Cookie": other}).status_code == 400
    assert client.post("/lang", data=form, headers={"Cookie": own}).status_code == 302


def test_a_committed_change_shows_at_once(client, unit, make_product):
    product = make_product(unit, name="Bưởi da xanh")
    assert "Bưởi da xanh" in client.get("/search").get_data(as_text=True)
    make_product(unit, name="Xoài cát Hòa Lộc")
    page = client.get("/search").get_data(as_text=True)
    assert "Xoài cát Hòa Lộc" in page

    from ktt_market.catalog.models import Product

    with client.application.app_context():
        db.session.get(Product, product.id).published = False
        db.session.commit()
    assert "Bưởi da xanh" not in client.get("/search").get_data(as_text=True)


def test_language_is_part_of_the_key(client, unit, make_product):
    make_product(unit, name="Bưởi da xanh")
    assert '<html lang="vi">' in client.get("/search").get_data(as_text=True)
    post_form(client, "/lang", {"lang": "en", "next": "/search"})
    assert '<html lang="en">' in client.get("/search").get_data(as_text=True)
    newcomer = client.application.test_client(use_cookies=False)
    assert '<html lang="vi">' in newcomer.get("/search").get_data(as_text=True)


def test_logged_in_user_never_gets_the_anonymous_page(client, app, unit, make_product, make_user, login):
    make_product(unit, name="Bưởi da xanh")
    login(client, make_user())
    for _ in range(2):  # the anonymous page is kept
        app.test_client(use_cookies=False).get("/search")
    page = client.get("/search").get_data(as_text=True)
    assert "/account/logout" in page


def test_a_visitor_with_a_cart_sees_their_count(app, client, unit, make_product):
    product = make_product(unit, name="Bưởi da xanh")
    post_form(client, "/cart/add", {"product_id": product.id, "quantity": "2"}, headers={"Referer": "/search"})
    client.get("/search")  # shows the message of the addition
    for _ in range(2):  # the anonymous page is kept
        app.test_client(use_cookies=False).get("/search")
    page = client.get("/search").get_data(as_text=True)
    assert re.search(r'<span class="badge">\d+</span>', page)


def test_switched_off_by_configuration(app, unit, make_product):
    make_product(unit, name="Bưởi da xanh")
    app.config["KTT_PAGE_CACHE_SECONDS"] = 0
    try:
        app.test_client(use_cookies=False).get("/search")
        with counted_queries(app) as queries:
            app.test_client(use_cookies=False).get("/search")
        assert queries
    finally:
        app.config["KTT_PAGE_CACHE_SECONDS"] = 5.0


def test_a_product_page_is_kept_too_and_its_add_to_cart_works_with_the_visitors_token(app, unit, make_product):
    product = make_product(unit, name="Bưởi da xanh", stock=9)
    app.test_client().get(f"/p/{product.id}")
    buyer = app.test_client()
    with counted_queries(app) as queries:
        page = buyer.get(f"/p/{product.id}")
    assert page.status_code == 200 and "Bưởi da xanh" in page.get_data(as_text=True)
    assert queries == []  # served from the copy
    token = _TOKEN.search(page.get_data(as_text=True)).group(1)
    added = buyer.post("/cart/add", data={"product_id": product.id, "quantity": 1, "csrf_token": token})
    assert added.status_code == 302
    assert "Bưởi da xanh" in buyer.get("/cart").get_data(as_text=True)
