"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.core


@pytest.mark.parametrize("path", ["/classification/assessments/", "/classification/movement"])
def test_a_blank_year_shows_the_default_year(client, make_user, login, path):
    from ktt_market.accounts.models import Role

    login(client, make_user(role=Role.OFFICER))
    assert client.get(path, query_string={"year": "\u3000"}).status_code == 200
