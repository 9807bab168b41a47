"""Rate limits on the routes that send mail or test passwords (the login's own are in tests/accounts)."""

from __future__ import annotations

import pytest

from tests.conftest import post_form

pytestmark = pytest.mark.core


def test_password_reset_requests_are_limited_per_address(app, client):
    statuses = [post_form(client, "/account/reset", {"email": f"nobody{n}@example.vn"}).status_code for n in range(6)]
    assert 429 not in statuses[:5], statuses
    assert statuses[5] == 429
    # Another address is not held back by this one's attempts.
    other = app.test_client()
    response = post_form(
        other, "/account/reset", {"email": "someone@example.vn"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert response.status_code != 429
