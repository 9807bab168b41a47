"""Fixtures for the accounts tests: what a user reads on a page, in the language it is shown in."""

from __future__ import annotations

import pytest


@pytest.fixture
def vi(app):
    """Return a msgid as a Vietnamese visitor reads it (the translation, or the English until there is one)."""
    from flask_babel import force_locale, gettext

    def translate(msgid: str, **variables) -> str:
        with app.test_request_context(), force_locale("vi"):
            return gettext(msgid, **variables)

    return translate
