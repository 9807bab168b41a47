"""Every main page transfers at most 100 KB, product photos aside: headers and bodies as they crossed the wire.

Each page is loaded in a fresh browser context (an empty cache, as a first visit) and what Chromium
reports for each finished request is added up: the response's headers and its encoded (compressed, when
compressed) body. Product photos (/media/) are left out: their weight is the photo's, not the page's.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.market import Market, market_fixture  # noqa: F401 (the market fixture)

pytestmark = pytest.mark.postgres_only

LIMIT_KB = 100


def test_every_main_page_weighs_at_most_100_kb(browser, live_server, market: Market):
    rows, too_heavy = [], []
    for name, (who, path) in market.pages.items():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="vi-VN")
        context.set_default_timeout(TIMEOUT_MS)
        context.add_cookies(market.cookies(who))
        page = context.new_page()
        finished = []
        page.on("requestfinished", lambda request, into=finished: into.append(request))
        response = page.goto(path, wait_until="load")
        assert response.status == 200, f"{name} ({path}): {response.status}"
        page.wait_for_load_state("networkidle")
        total = photos = 0
        parts = []
        for request in finished:
            sizes = request.sizes()
            size = sizes["responseHeadersSize"] + max(sizes["responseBodySize"], 0)
            if "/media/" in request.url:
                photos += size
                continue
            total += size
            parts.append(f"{request.url.removeprefix(live_server.url)} {size / 1024:.1f}")
        context.close()
        kb = total / 1024
        rows.append(f"{name:22} {kb:6.1f} KB   (photos aside: {photos / 1024:.1f} KB)   {'; '.join(parts)}")
        if kb > LIMIT_KB:
            too_heavy.append(f"{name} ({path}): {kb:.1f} KB > {LIMIT_KB} KB")
    print("\n".join(["", f"Page weight, first visit, photos aside (limit {LIMIT_KB} KB):", *rows]))
    assert not too_heavy, "\n".join(too_heavy)
