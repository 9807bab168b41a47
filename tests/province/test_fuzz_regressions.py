"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.core


def test_a_ward_of_thousands_of_digits_is_no_filter(client, make_user, login):
    from ktt_market.accounts.models import Role

    login(client, make_user(role=Role.OFFICER))
    assert client.get("/province/dashboard", query_string={"ward": "1" * 5000}).status_code == 200


@pytest.mark.parametrize("province", ["²", "9" * 5000])
def test_a_province_that_is_no_number_is_not_found(client, make_user, login, province):
    from ktt_market.accounts.models import Role

    login(client, make_user(role=Role.ADMIN))
    assert client.get("/province/dashboard", query_string={"province": province}).status_code == 404
    assert client.get("/reports/annual", query_string={"province": province}).status_code == 404
