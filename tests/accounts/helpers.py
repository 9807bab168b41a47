"""Read pages the way a user does: text, messages beside fields, login state."""

from __future__ import annotations

import html
import re


def page_text(response) -> str:
    """Return the page as text with HTML entities decoded, as a reader sees the characters."""
    return html.unescape(response.get_data(as_text=True))


def field_errors(response, field_id: str) -> list[str]:
    """Return the messages shown beside one form field."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-errors">(.*?)</ul>', page, re.S)
    if not match:
        return []
    return [html.unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)]


def is_logged_in(client) -> bool:
    """Whether the client's session reaches a page that needs a login."""
    return client.get("/account/").status_code == 200
