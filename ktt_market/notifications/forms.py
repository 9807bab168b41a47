"""Notification forms: the buttons only carry the CSRF token; settings are checkboxes per kind and channel."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A POST button (mark read, retry): nothing but the CSRF token."""


class SettingsForm(FlaskForm):
    """The kind × channel checkboxes, named "<kind>:<channel>", are read from the request by the view."""
