"""Security headers and cookies on the pages of every area, as each role that opens them sees them."""

from __future__ import annotations

import re

import pytest

from tests.security.conftest import ROLES, build_url, get_routes

pytestmark = pytest.mark.core

# A <script> without src= is inline code, which the Content-Security-Policy forbids.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
# Event handler attributes (onclick=...) and style attributes are inline code and styles too.
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+|style)\s*=", re.I)


def _directives(csp: str) -> dict[str, list[str]]:
    result = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            result[words[0].lower()] = words[1:]
    return result


def check_headers(response, where: str) -> list[str]:
    """Return what is missing from the response's security headers."""
    problems = []
    csp = response.headers.get("Content-Security-Policy")
    if not csp:
        return [f"{where}: no Content-Security-Policy"]
    directives = _directives(csp)
    script_src = directives.get("script-src", directives.get("default-src"))
    if script_src is None or "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"{where}: script-src allows inline code: {csp}")
    if "'unsafe-inline'" in directives.get("style-src", directives.get("default-src", [])):
        problems.append(f"{where}: style-src allows inline styles")
    if directives.get("frame-ancestors") != ["'none'"] and response.headers.get("X-Frame-Options") != "DENY":
        problems.append(f"{where}: the page may be framed")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: no X-Content-Type-Options: nosniff")
    if not response.headers.get("Referrer-Policy"):
        problems.append(f"{where}: no Referrer-Policy")
    if "Strict-Transport-Security" in response.headers:
        problems.append(f"{where}: HSTS sent over plain HTTP")
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        for pattern, what in ((INLINE_SCRIPT, "inline <script>"), (INLINE_HANDLER, "inline handler or style")):
            found = pattern.search(body)
            if found:
                problems.append(f"{where}: {what}: {found.group(0)[:120]}")
    return problems


def test_every_page_of_every_area_carries_the_security_headers(app, clients, world):
    """Each GET route, opened by every role, answers with the headers and no inline code."""
    ids = world["ids"]
    problems, opened = [], {}
    for rule in get_routes(app):
        url = build_url(rule, ids)
        for role in ROLES:
            response = clients[role].get(url)
            problems += check_headers(response, f"{role} GET {url} ({response.status_code})")
            if response.status_code == 200:
                opened.setdefault(rule.endpoint.split(".")[0], set()).add(role)
    assert not problems, "\n".join(problems)
    # The sample really covers every area's pages, as the people who use them.
    for area in ("core", "catalog", "catalog_manage", "orders", "registry", "members", "dashboard", "programs"):
        assert area in opened, f"no page of {area} opened"
    every_role = set().union(*opened.values())
    assert every_role == set(ROLES)


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not check_headers(response, "404")


def test_session_cookie_is_httponly_and_samesite_over_http(app, client):
    response = client.get("/account/login")
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(app.config["SESSION_COOKIE_NAME"])]
    assert cookies, "the login form starts a session"
    attributes = [a.strip().lower() for a in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes or "samesite=strict" in attributes
    assert "secure" not in attributes  # plain HTTP (development): a Secure cookie would never come back


@pytest.fixture
def https_app(monkeypatch, app):
    """The application configured from an environment that says it is served over HTTPS."""
    from ktt_market import create_app

    monkeypatch.setenv("KTT_HTTPS", "1")
    keep = ("SQLALCHEMY_DATABASE_URI", "SERVER_NAME", "UPLOAD_FOLDER", "RATELIMIT_STORAGE_URI", "CELERY")
    secure = create_app({"TESTING": True, **{k: app.config[k] for k in keep}})
    yield secure
    with secure.app_context():
        from ktt_market.extensions import db

        db.engine.dispose()


def test_https_deployment_sends_hsts_and_secure_cookies(https_app):
    client = https_app.test_client()
    response = client.get("/account/login", base_url="https://ktt.test")
    assert response.status_code == 200
    hsts = response.headers.get("Strict-Transport-Security", "")
    max_age = re.search(r"max-age=(\d+)", hsts)
    assert max_age and int(max_age.group(1)) >= 15_552_000  # at least 180 days
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies, "the login form starts a session"
    for cookie in cookies:
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert {"secure", "httponly"} <= set(attributes), cookie
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_plain_http_deployment_sends_no_hsts(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
