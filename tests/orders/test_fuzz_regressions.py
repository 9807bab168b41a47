"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.mark.parametrize("path", ["/cart/add", "/cart/update", "/cart/remove"])
def test_a_product_number_beyond_the_database_is_refused_beside_the_cart(client, path):
    response = post_form(client, path, {"product_id": "9" * 40, "quantity": "1"})
    assert response.status_code == 422  # was a 500 on PostgreSQL: integer out of range
