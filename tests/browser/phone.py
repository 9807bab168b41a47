"""What a phone-sized page must never do: be wider than the screen (tables scroll inside .table-scroll)."""

from __future__ import annotations

from playwright.sync_api import Page

# Elements sticking out of the screen, outside the tables that scroll on purpose.
_OVERFLOW = """() => {
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
    """Fail when the page scrolls sideways on the phone: something is off-screen."""
    found = page.evaluate(_OVERFLOW)
    assert found["scroll"] <= found["width"], (
        f"{page.url} is {found['scroll']} px wide on a {found['width']} px phone: {found['out']}"
    )
