"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.core


def test_a_year_beyond_the_database_lists_every_year(client, make_user, login):
    from ktt_market.accounts.models import Role

    login(client, make_user(role=Role.OFFICER))
    assert client.get("/programs/", query_string={"year": "9" * 30}).status_code == 200
