"""What every page carries: security headers, error pages in the visitor's language, the health check."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from tests.accounts.helpers import page_text
from tests.conftest import post_form

pytestmark = pytest.mark.core


def _vi(app, msgid: str) -> str:
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid)


def _directives(csp: str) -> dict[str, str]:
    parts = (p.strip().split(None, 1) for p in csp.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


@pytest.mark.parametrize("path", ["/", "/account/login", "/no-such-page"])
def test_security_headers(client, path):
    response = client.get(path)

    csp = _directives(response.headers["Content-Security-Policy"])
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_hsts_when_served_over_https(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "KTT_HTTPS", True)

    hsts = client.get("/").headers["Strict-Transport-Security"]

    assert "max-age=31536000" in hsts


def test_pages_have_no_inline_script_or_style(client):
    for path in ("/", "/account/login", "/account/register", "/account/reset"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page
        assert " style=" not in page
        assert " onclick=" not in page


def test_404_page_is_vietnamese_by_default(app, client):
    response = client.get("/khong-co-trang-nay")

    assert response.status_code == 404
    page = page_text(response)
    assert 'lang="vi"' in page
    assert _vi(app, "Page not found") in page
    assert _vi(app, "Back to the home page") in page


def test_404_page_in_english_after_switching(client):
    post_form(client, "/lang", {"lang": "en"})

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert 'lang="en"' in response.get_data(as_text=True)
    assert "Page not found" in response.get_data(as_text=True)


def test_405_page(app, client):
    response = client.put("/account/login")

    assert response.status_code == 405
    assert _vi(app, "This address does not accept that kind of request.") in page_text(response)


def test_csrf_failure_page_is_clear(app, client):
    response = client.post("/lang", data={"lang": "en", "csrf_token": "forged"})

    assert response.status_code == 400
    assert _vi(app, "The form has expired") in page_text(response)


def test_health_check(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_static_files_are_addressed_by_content_and_cached_for_a_year(client):
    import hashlib
    import re
    from pathlib import Path

    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css\?v=([0-9a-f]{12}))"', html)
    assert css, "the stylesheet's address carries its content hash"
    digest = hashlib.sha256((Path(client.application.static_folder) / "app.css").read_bytes()).hexdigest()
    assert css.group(2) == digest[:12]
    with client.get(css.group(1)) as current:
        assert current.status_code == 200 and current.cache_control.max_age == 365 * 24 * 3600
    with client.get("/static/app.css?v=000000000000") as stale:  # an old page's address: served, not kept
        assert stale.status_code == 200 and stale.cache_control.max_age != 365 * 24 * 3600
