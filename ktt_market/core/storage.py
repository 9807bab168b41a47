"""Where uploaded media (product photos) live, behind one small interface.

`Storage` is what the rest of the code sees: save, open, delete and the public URL of a key. The
default, `LocalStorage`, keeps files under `<UPLOAD_FOLDER>/media` and serves them through the
`media` blueprint below. Several web servers sharing one store need a networked backend: an S3 class
implementing the same four methods (its `url` returning the bucket's or CDN's address) and selected by
`KTT_STORAGE = "s3"` is all it takes; nothing else changes.

Keys are chosen by the server (`images.new_key`): 32 hex digits and an extension, never a user's
file name, so a key is safe as a path and cannot collide.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from io import BytesIO
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_file, url_for

# What the server names files: uuid4 hex and an image extension. Anything else is not ours.
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}\.(?:webp|jpg)$")
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}
ONE_YEAR = 365 * 24 * 3600


def is_valid_key(key: str) -> bool:
    """Tell whether `key` is a name this server could have chosen."""
    return bool(KEY_PATTERN.match(key))


def content_type_of(key: str) -> str:
    """Return the content type of a stored key, from its server-chosen extension."""
    return CONTENT_TYPES[key.rsplit(".", 1)[-1]]


class Storage(ABC):
    """A place for media files, addressed by server-chosen keys."""

    @abstractmethod
    def save(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` (replacing nothing: keys are new)."""

    @abstractmethod
    def open(self, key: str) -> bytes:
        """Return the bytes under `key`; raise FileNotFoundError when there are none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""

    @abstractmethod
    def url(self, key: str) -> str:
        """Return the address a browser loads `key` from."""


class LocalStorage(Storage):
    """Files in a folder of this server, served by the `media` blueprint."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise ValueError(f"not a media key: {key!r}")
        # Two hex digits of sub-folder keep any one folder small.
        return self.root / key[:2] / key

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return url_for("media.file", key=key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _build(app: Flask) -> Storage:
    kind = app.config.get("KTT_STORAGE", "local")
    if kind == "local":
        return LocalStorage(Path(app.config["UPLOAD_FOLDER"]) / "media")
    raise RuntimeError(f"unknown KTT_STORAGE {kind!r} (supported: local)")


def get_storage(app: Flask | None = None) -> Storage:
    """Return the application's media storage, built once from its configuration."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get("ktt_storage")
    if storage is None:
        storage = app.extensions["ktt_storage"] = _build(app)
    return storage


def media_url(key: str | None) -> str:
    """Return the public address of a stored key ("" for none), for templates."""
    return get_storage().url(key) if key else ""


media_bp = Blueprint("media", __name__)


@media_bp.get("/media/<path:key>")
def file(key: str):
    """Serve a locally stored media file: only server-chosen names, cached for a year."""
    if not is_valid_key(key):
        abort(404)
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        abort(404)  # another backend serves its own files
    try:
        data = storage.open(key)
    except FileNotFoundError:
        abort(404)
    response = send_file(BytesIO(data), mimetype=content_type_of(key), max_age=ONE_YEAR, etag=key, conditional=True)
    # A key's bytes never change (a new photo gets a new key): browsers may keep it for good.
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register_media(app: Flask) -> None:
    """Add the media route and the `media_url` template helper to `app` (once)."""
    if "media" not in app.blueprints:
        app.register_blueprint(media_bp)
    app.jinja_env.globals["media_url"] = media_url
