"""Control characters in a request are refused before any work (found by tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form

pytestmark = pytest.mark.core


def _applications(app) -> int:
    from ktt_market.extensions import db
    from ktt_market.registry.models import UnitApplication

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UnitApplication))


@pytest.mark.parametrize("value", ["Bư\x00ởi", "\x1dBưởi", "Bưởi\x08"])
def test_control_characters_in_a_query_are_ignored(client, make_unit, make_product, value):
    make_product(make_unit(), name="Bưởi da xanh")
    response = client.get("/search", query_string={"q": value})
    assert response.status_code == 200  # NUL reached PostgreSQL and was a 500
    assert "Bưởi da xanh" in response.get_data(as_text=True)


def test_a_form_with_a_nul_byte_is_refused_and_changes_nothing(app, client, make_user, make_unit, login):
    unit = make_unit()
    login(client, make_user())
    post_form(client, "/lang", {"lang": "en"})
    before = _applications(app)
    response = post_form(client, "/registry/claim", {"registration_code": unit.registration_code + "\x00"})
    assert response.status_code == 400  # PostgreSQL cannot store NUL: this was a 500
    assert "Characters not allowed" in response.get_data(as_text=True)
    assert _applications(app) == before


def test_tabs_and_line_breaks_still_pass(client):
    assert client.get("/search", query_string={"q": "bưởi\tda\r\nxanh"}).status_code == 200
