"""The header's search and menu, and the search filters folded on a first visit (phones see products first)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.core


def _html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_page_without_its_own_search_has_one_in_the_header(client, make_unit, make_product):
    product = make_product(make_unit(), name="Bưởi da xanh")
    page = _html(client.get(f"/p/{product.id}"))
    box = re.search(r'<form class="site-search" method="get" action="([^"]+)" role="search">', page)
    assert box and box.group(1) == "/search"
    assert '<label class="visually-hidden" for="site-q">' in page and 'id="site-q" name="q"' in page
    found = _html(client.get("/search", query_string={"q": "buoi da xanh"}))
    assert "Bưởi da xanh" in found
    # Pages with their own search box keep one box, so a screen reader hears one "search" landmark.
    for path in ("/", "/search?q=buoi", "/c/trai-cay"):
        assert 'id="site-q"' not in _html(client.get(path)), path


def test_the_menu_says_sell_until_the_person_works_for_a_unit(client, make_user, make_unit, make_staff, login):
    buyer = make_user()
    login(client, buyer)
    assert "Bán hàng trên KTT Market" in _html(client.get("/")) and "HTX của tôi" not in _html(client.get("/"))
    owner_client = client.application.test_client()
    login(owner_client, make_staff(make_unit()))
    menu = _html(owner_client.get("/"))
    assert "HTX của tôi" in menu and "Bán hàng trên KTT Market" not in menu


def test_filters_are_folded_until_one_is_used(client, make_unit, make_product):
    make_product(make_unit(), name="Bưởi da xanh")
    first = _html(client.get("/search", query_string={"q": "buoi"}))
    assert '<details class="more-filters">' in first  # closed: the products come right after the words
    assert first.index("Bưởi da xanh") > first.index("more-filters")
    narrowed = _html(client.get("/search", query_string={"q": "buoi", "province": "86"}))
    assert '<details class="more-filters" open>' in narrowed  # a filter in use stays in sight
    sorted_page = _html(client.get("/search", query_string={"q": "buoi", "sort": "price_asc"}))
    assert '<details class="more-filters" open>' in sorted_page
