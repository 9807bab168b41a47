"""Browser journeys: gunicorn on the session's test database, driven by Debian's Chromium through Playwright.

Chromium is the distribution's package (no Playwright download works offline): the test command installs it
when missing (scripts/install-test-services.sh). A failed test leaves a screenshot and the page's HTML in
tests/browser/artifacts/ (or $KTT_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import ROOT, Web, Worker, app_env

ARTIFACTS = Path(os.environ.get("KTT_ARTIFACTS") or ROOT / "tests" / "browser" / "artifacts")
# Long enough for a page on a busy two-core machine; short enough that a missing element fails fast.
TIMEOUT_MS = 10_000


def _chromium() -> str | None:
    """Return Chromium's path, installing the Debian package first when it is missing."""
    found = shutil.which("chromium")
    # Only where apt-get can run without a password prompt: a test must never wait on a terminal.
    can_install = os.geteuid() == 0 or subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    if found is None and can_install:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-test-services.sh")], check=False, timeout=900)
        found = shutil.which("chromium")
    return found


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def live_server(database_url, tmp_path_factory):
    """Gunicorn serving the app and a Celery worker delivering its notifications, on the session's test database.

    Both share the instance folder, hence the embedded SQLite broker, as `make run` does without Redis.
    """
    folder = tmp_path_factory.mktemp("browser-web")
    env = app_env(
        DATABASE_URL=database_url,
        KTT_INSTANCE_PATH=str(folder / "instance"),
        SECRET_KEY="browser-test-secret",
        KTT_LOGIN_RATE_LIMIT="1000 per minute",
        # Each test makes its own products: a cached listing from the previous test would hide them.
        KTT_PAGE_CACHE_SECONDS="0",
        # The dispatcher's sweep every second, in case the kick after a commit is missed.
        NOTIFY_DISPATCH_SECONDS="1",
    )
    server = Web(env, folder).start()
    worker = Worker(env, folder).start()
    yield server
    worker.kill()  # its warm shutdown takes seconds; the tables are emptied after each test anyway
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, launched once per module."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements-test.txt)")
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed and could not be installed (apt-get install chromium)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(request, browser, live_server):
    """Open a fresh browser tab with its own cookies (another person) on the live server, phone-sized.

    When the test fails, each tab opened leaves a screenshot and its HTML in the artifacts folder.
    """
    contexts = []

    def open_tab():
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 390, "height": 844},  # mobile first: the site is tried at a phone's width
            locale="vi-VN",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_tab
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for n, context in enumerate(contexts, start=1):
            for tab in context.pages:
                name = f"{test_name}-{n}"
                try:
                    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                    (ARTIFACTS / f"{name}.html").write_text(tab.content(), encoding="utf-8")
                except Exception as exc:  # a dead page must not hide the test's own failure
                    (ARTIFACTS / f"{name}.txt").write_text(f"no screenshot: {exc!r}\n", encoding="utf-8")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """One browser tab on the live server."""
    return new_page()
