"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

from tests.conftest import post_form

pytestmark = pytest.mark.core


def test_a_page_number_of_thousands_of_digits_shows_the_first_page(client, make_unit, make_product):
    unit = make_unit()
    make_product(unit, name="Bưởi da xanh")
    for path in ("/search", f"/store/{unit.id}"):
        response = client.get(path, query_string={"page": "1" * 5000})
        assert response.status_code == 200, path
        assert "Bưởi da xanh" in response.get_data(as_text=True)


def test_a_blank_parent_category_is_no_parent(app, client, make_user, login):
    from ktt_market.accounts.models import Role
    from ktt_market.catalog.models import Category
    from ktt_market.extensions import db

    login(client, make_user(role=Role.ADMIN))
    response = post_form(
        client,
        "/manage/categories/2",
        {"name_vi": "Trái cây", "name_en": "Fruit", "slug": "trai-cay", "parent_id": "\u3000"},
    )
    assert response.status_code in {302, 422}
    with app.app_context():
        assert db.session.get(Category, 2).parent_id is None
