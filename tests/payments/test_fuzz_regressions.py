"""Inputs the security fuzzer found answering 500 (tests/security/test_fuzz.py)."""

from __future__ import annotations

import pytest

from tests.conftest import post_form

pytestmark = pytest.mark.core


def test_a_bank_account_form_without_its_fields_removes_the_account(app, client, make_unit, make_staff, login):
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit

    unit = make_unit()
    login(client, make_staff(unit))
    # Only the token: the fields are missing, not empty (the service read None and failed).
    response = post_form(client, f"/payments/units/{unit.id}/bank-account", {"bank_bin": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Unit, unit.id).bank_account is None
