"""The site's own static files, addressed by content: `/static/app.css?v=<hash>`, cached by browsers for a year.

Every `url_for("static", ...)` gets the file's content hash, so a deploy that changes a file changes its
address: phones on slow networks never download the stylesheet twice, and never keep a stale one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, has_request_context, request

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    """Version static URLs by content and let browsers keep versioned files for a year."""
    folder = Path(app.static_folder or "")
    versions: dict[str, str] = {}

    def version(filename: str) -> str | None:
        if filename not in versions:
            path = (folder / filename).resolve()
            if not path.is_file() or folder.resolve() not in path.parents:
                return None
            versions[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return versions[filename]

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            found = version(values["filename"])
            if found is not None:
                values["v"] = found

    original = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        # A year only for the address of the file's current content; any other stays revalidated.
        versioned = has_request_context() and request.endpoint == "static" and filename is not None
        if versioned and request.args.get("v") and request.args.get("v") == version(filename):
            return ONE_YEAR
        return original(filename)

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
