"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.core


@pytest.mark.parametrize("ward", ["1" * 5000, "²"])
def test_a_ward_filter_that_is_no_number_lists_every_unit(client, make_user, make_unit, login, ward):
    from ktt_market.accounts.models import Role

    unit = make_unit(name="Hợp tác xã Bưởi Tân Phú")
    login(client, make_user(role=Role.OFFICER, province_code=unit.province_code))
    response = client.get("/registry/", query_string={"ward": ward})
    assert response.status_code == 200
    assert "Bưởi Tân Phú" in response.get_data(as_text=True)
