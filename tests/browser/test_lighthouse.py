"""Lighthouse (npm, pinned) on Debian's Chromium: mobile performance and accessibility of at least 95.

Home, search, product and checkout (a logged-in buyer with a cart: her session cookie goes in
--extra-headers), with Lighthouse's defaults: a mobile form factor and simulated throttling (a slow 4G
network and a 4x slower CPU computed from the trace, so the busy test machine barely moves the score).
Each page is a Lighthouse process with a Chromium of its own (tracing is browser-wide: two runs cannot
share one), two at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.browser.market import ARTIFACTS, Market, chromium_path, market_fixture, node_tool  # noqa: F401 (the market fixture)

pytestmark = pytest.mark.postgres_only

PAGES = ("home", "search", "product", "checkout")
MINIMUM = 95
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--mute-audio",
]


def lighthouse(cli: Path, url: str, out: Path, cookie: str) -> dict:
    """Run the Lighthouse CLI on `url` in a Chromium of its own; return its JSON report."""
    argv = [
        "node",
        str(cli),
        url,
        "--chrome-flags=" + " ".join(CHROME_FLAGS),
        "--only-categories=performance,accessibility",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--disable-full-page-screenshot",
    ]
    if cookie:
        argv.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": chromium_path(), "HOME": str(out.parent)}  # Chromium writes in $HOME
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0 and out.exists(), f"lighthouse {url}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return json.loads(out.read_text())


def failing_audits(report: dict, category: str) -> list[str]:
    """Return the audits of `category` that cost points, with their score, value and title."""
    lines = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            value = audit.get("displayValue", "")
            lines.append(f"    {ref['id']} score {audit['score']:.2f} weight {ref['weight']} {value}: {audit['title']}")
    return lines


def test_lighthouse_scores_on_mobile(market: Market, tmp_path):
    cli = node_tool("lighthouse/cli/index.js")
    if shutil.which("node") is None:
        pytest.skip("Node is not installed: make install-test installs it (apt-get install nodejs npm)")
    started = time.monotonic()
    folder = tmp_path

    def run(name: str) -> tuple[str, dict]:
        who, path = market.pages[name]
        out = folder / f"{name}.json"
        return name, lighthouse(cli, market.base_url + path, out, market.cookie_header(who))

    # Two at a time, each in its own Chromium: tracing is browser-wide, so two runs cannot share one.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = dict(pool.map(run, PAGES))
    elapsed = time.monotonic() - started

    table, problems = [], []
    for name in PAGES:
        report = reports[name]
        scores = {c: round(report["categories"][c]["score"] * 100) for c in ("performance", "accessibility")}
        final = report.get("finalDisplayedUrl") or report.get("finalUrl")
        perf, a11y = scores["performance"], scores["accessibility"]
        table.append(f"{name:10} performance {perf:3}  accessibility {a11y:3}  {final}")
        for category, score in scores.items():
            if score < 100:  # what costs points, shown even when the score passes: the margin is worth watching
                table.extend(failing_audits(report, category))
            if score < MINIMUM:
                problems.append(f"{name}: {category} {score} < {MINIMUM}")
                problems.extend(failing_audits(report, category))
    print("\n".join(["", f"Lighthouse, mobile, simulated throttling ({elapsed:.0f} s):", *table]))
    assert "/checkout" in (reports["checkout"].get("finalDisplayedUrl") or ""), "the buyer's cookie did not reach"
    if problems:  # the whole reports, for a look in Lighthouse's viewer
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in PAGES:
            shutil.copy(folder / f"{name}.json", ARTIFACTS / f"lighthouse-{name}.json")
    assert not problems, "\n".join(problems)
