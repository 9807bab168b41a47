"""CSRF over every state-changing route of the URL map, with the exemptions named one by one."""

from __future__ import annotations

import logging

import pytest

from tests.security.conftest import build_url
from tests.test_access_matrix import _fingerprint

pytestmark = pytest.mark.core

# Routes that take POSTs without a CSRF token, on purpose, and what authenticates them instead.
# A new exempt route fails the suite until it is added here with its reason.
EXEMPT = {
    "payments_webhooks.stripe_webhook": "Stripe signs the body (Stripe-Signature), checked before anything is read",
}

# What a browser's form would carry besides the token: enough to pass the form if the token were not checked.
PLAUSIBLE = {"reason": "x", "lang": "en", "quantity": "1", "full_name": "Nguyễn Văn A", "email": "a@example.vn"}


def post_routes(app):
    """Yield every rule that accepts POST."""
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]


def _csrf_checked(caplog) -> bool:
    # Flask-WTF logs why it refused a token: the trace of a check that ran (whatever page the app shows).
    return any(record.name == "flask_wtf.csrf" for record in caplog.records)


@pytest.mark.parametrize("role", ["visitor", "buyer", "owner", "officer", "admin"])
def test_every_post_route_refuses_a_request_without_token(app, clients, world, role, caplog):
    caplog.set_level(logging.INFO, logger="flask_wtf.csrf")
    client = clients[role]
    before = _fingerprint(app)
    failures, unchecked = [], set()
    for rule in post_routes(app):
        url = build_url(rule, world["ids"])
        caplog.clear()
        response = client.post(url, data=PLAUSIBLE)
        if not _csrf_checked(caplog):
            unchecked.add(rule.endpoint)
        elif response.status_code != 400:
            failures.append(f"POST {url} -> {response.status_code}")
    assert not failures, f"{role}: accepted without a CSRF token:\n" + "\n".join(failures)
    assert unchecked == set(EXEMPT), f"routes that skip the CSRF check, not listed in EXEMPT: {unchecked - set(EXEMPT)}"
    assert _fingerprint(app) == before, f"a refused POST by {role} changed data"


def test_a_token_of_another_session_is_refused(app, clients, world):
    other = app.test_client()
    page = other.get("/account/login").get_data(as_text=True)
    stolen = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    before = _fingerprint(app)
    order = world["ids"]
    for url in (
        f"/orders/units/{order['unit_id']}/{order['order_id']}/confirm",
        f"/registry/applications/{order['application_id']}/approve",
        "/notifications/read-all",
    ):
        for role in ("owner", "officer", "buyer"):
            response = clients[role].post(url, data={**PLAUSIBLE, "csrf_token": stolen})
            assert response.status_code == 400, (role, url)
    assert _fingerprint(app) == before


def test_exempt_webhook_refuses_an_unsigned_call(app, client):
    before = _fingerprint(app)
    body = b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {}}}'
    for signature in (None, "t=1,v1=deadbeef"):
        headers = {"Stripe-Signature": signature} if signature else {}
        response = client.post("/payments/stripe/webhook", data=body, headers=headers, content_type="application/json")
        assert response.status_code == 400
    assert _fingerprint(app) == before
