"""axe-core in real Chromium finds no serious or critical accessibility violation on the main pages.

axe is injected from the pinned npm package (tests/browser/node). The site's Content-Security-Policy forbids
inline scripts, and Playwright injects a file as an inline script: only axe's own browser context bypasses
the CSP, which the security suite checks separately.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.market import Market, market_fixture, node_tool  # noqa: F401 (the market fixture)
from tests.support.factories import PASSWORD
from tests.support.shopper import Shopper

pytestmark = pytest.mark.postgres_only

BLOCKING = {"serious", "critical"}


def describe(page_name: str, violations: list[dict]) -> str:
    """Return each violation's rule, help text, impact and the nodes it was found on, for the failure message."""
    lines = []
    for v in violations:
        lines.append(f"[{page_name}] {v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:8]:
            target = " ".join(json.dumps(t, ensure_ascii=False) for t in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1:]!r}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def test_main_pages_have_no_serious_violation(browser, live_server, market: Market):
    axe = node_tool("axe-core/axe.min.js")
    failures, checked = [], []
    contexts = {}
    for name, (who, path) in market.pages.items():
        if who not in contexts:
            contexts[who] = browser.new_context(
                base_url=live_server.url,
                viewport={"width": 390, "height": 844},
                locale="vi-VN",
                bypass_csp=True,  # axe arrives as an inline script
            )
            contexts[who].set_default_timeout(TIMEOUT_MS)
            contexts[who].add_cookies(market.cookies(who))
        page = contexts[who].new_page()
        response = page.goto(path)
        assert response.status == 200, f"{name} ({path}): {response.status}"
        page.add_script_tag(path=str(axe))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
        minor = [f"{v['id']} ({v['impact']})" for v in result["violations"] if v["impact"] not in BLOCKING]
        checked.append(f"{name:22} {path:40} serious/critical: {len(blocking)}; other: {', '.join(minor) or '-'}")
        if blocking:
            failures.append(describe(name, blocking))
        page.close()
    for context in contexts.values():
        context.close()
    print("\n".join(["", "axe-core on the main pages:", *checked]))
    assert not failures, "\n".join(failures)


def test_a_table_wider_than_a_phone_takes_the_keyboard_focus(browser, live_server, make_user):
    officer = make_user("officer", email="officer@vinhlong.gov.vn")
    session = Shopper(live_server.url).login(officer.email, PASSWORD)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="vi-VN")
    context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in session.http.cookies])
    page = context.new_page()
    page.goto("/reports/annual")

    # On a phone the report's tables scroll sideways: each is a named region the Tab key reaches.
    regions = page.locator(".table-scroll[role=region][tabindex='0']")
    expect(regions.first).to_be_visible()
    expect(regions.first).to_have_attribute("aria-label", re.compile(r"\S"))
    for _ in range(80):  # through the menu and the report's form to the first table
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('table-scroll')"):
            break
    expect(page.locator(".table-scroll:focus")).to_have_count(1)
    page.keyboard.press("ArrowRight")
    # The scroll may be smooth: poll from here (wait_for_function evaluates a string, which the CSP forbids).
    deadline = time.monotonic() + 5
    while page.evaluate("document.activeElement.scrollLeft") <= 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.evaluate("document.activeElement.scrollLeft") > 0, "the arrow key did not scroll the table"

    # On a wide screen they fit, and stay out of the way of the Tab key.
    page.set_viewport_size({"width": 1600, "height": 900})
    expect(page.locator(".table-scroll[tabindex]")).to_have_count(0)
    context.close()
