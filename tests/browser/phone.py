"""What a phone-sized page must never do: be wider than the screen (tables scroll inside .table-scroll)."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

# Elements sticking out of the screen, outside the tables that scroll on purpose.
_OVERFLOW = """() => {
  if (!document.documentElement || !document.body) return null;  // a navigation is replacing the document
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('.table-scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) {
      out.push(`<${el.tagName.toLowerCase()}> ${el.textContent.trim().slice(0, 40)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


def assert_fits_phone(page: Page) -> None:
    """Fail when the page scrolls sideways on the phone: something is off-screen.

    Called right after a click that navigates, it measures the new page once it has loaded, not the old one
    being replaced.
    """
    found = None
    for _ in range(20):
        page.wait_for_load_state("load")
        try:
            found = page.evaluate(_OVERFLOW)
        except PlaywrightError as exc:  # the document went away under the measure: measure the next one
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
        if found is not None:
            break
        page.wait_for_timeout(100)
    assert found is not None, f"{page.url} never finished loading"
    assert found["scroll"] <= found["width"], (
        f"{page.url} is {found['scroll']} px wide on a {found['width']} px phone: {found['out']}"
    )
