"""Where uploaded media (product photos) live, behind one small interface.

`Storage` is what the rest of the code sees: save, open, delete and the public URL of a key. The
default, `LocalStorage`, keeps files under `<UPLOAD_FOLDER>/media` and serves them through the
`media` blueprint below. Several web servers sharing one store use `S3Storage` (`KTT_STORAGE=s3`): objects
in an S3-compatible bucket (AWS, MinIO, Ceph, R2, Viettel or FPT object storage), which browsers load
straight from the bucket's or a CDN's public address; nothing else changes.

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
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, send_file, url_for

# What the server names files: uuid4 hex and an image extension. Anything else is not ours.
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}\.(?:webp|jpg)$")
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}
ONE_YEAR = 365 * 24 * 3600
# A key's bytes never change (a new photo gets a new key): browsers and CDNs may keep it for good.
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
STORAGE_KINDS = ("local", "s3")


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


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, which browsers load from its public address (the bucket or a CDN).

    The bucket (or the CDN in front of it) must let anyone read its objects; nothing else is kept
    there. Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in
    the environment, or an instance role), never from this application's configuration.
    """

    def __init__(
        self,
        bucket: str,
        *,
        public_url: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        connect_timeout: float = 3,
        read_timeout: float = 10,
        max_attempts: int = 3,
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.public_url = public_url.rstrip("/")
        options: dict[str, Any] = {
            # An upload is part of a request: a store that does not answer costs seconds, not a worker.
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "retries": {"max_attempts": max_attempts, "mode": "standard"},
            # Checksums only where S3 requires them: several S3-compatible stores refuse the newer headers.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }
        if endpoint_url:
            # Other stores seldom serve bucket.host names; the bucket in the path works everywhere.
            options["s3"] = {"addressing_style": "path"}
        # A session of its own: boto3's default session is not thread-safe; a client is.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=Config(**options)
        )

    @classmethod
    def from_config(cls, config: dict) -> S3Storage:
        """Build the storage from the application's KTT_S3_* settings."""
        bucket = config.get("KTT_S3_BUCKET")
        if not bucket:
            raise RuntimeError("KTT_STORAGE=s3 needs KTT_S3_BUCKET, the bucket's name")
        return cls(
            bucket,
            public_url=public_base_url(config),
            endpoint_url=config.get("KTT_S3_ENDPOINT_URL"),
            region=config.get("KTT_S3_REGION"),
        )

    def _check(self, key: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"not a media key: {key!r}")
        return key

    def save(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._check(key), Body=data, ContentType=content_type, CacheControl=IMMUTABLE
        )

    def open(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._check(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError(key) from None
            raise
        with response["Body"] as body:
            return body.read()

    def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success, as the interface wants.
        self.client.delete_object(Bucket=self.bucket, Key=self._check(key))

    def url(self, key: str) -> str:
        return f"{self.public_url}/{self._check(key)}"

    def exists(self, key: str) -> bool:
        """Tell whether `key` is in the bucket."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._check(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return False
            raise
        return True


def public_base_url(config: dict) -> str:
    """Return the address browsers load S3 objects from: KTT_S3_PUBLIC_URL, else the bucket's own."""
    if config.get("KTT_S3_PUBLIC_URL"):
        return config["KTT_S3_PUBLIC_URL"].rstrip("/")
    bucket = config.get("KTT_S3_BUCKET") or ""
    endpoint = config.get("KTT_S3_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}"
    region = config.get("KTT_S3_REGION")
    return f"https://{bucket}.s3.{region}.amazonaws.com" if region else f"https://{bucket}.s3.amazonaws.com"


def image_origin(config: dict) -> str | None:
    """Return the origin images are loaded from when it is not this site (for the CSP), else None."""
    if config.get("KTT_STORAGE", "local") != "s3":
        return None
    parts = urlsplit(public_base_url(config))
    return f"{parts.scheme}://{parts.netloc}"


def _build(app: Flask) -> Storage:
    kind = app.config.get("KTT_STORAGE", "local")
    if kind == "local":
        return LocalStorage(Path(app.config["UPLOAD_FOLDER"]) / "media")
    if kind == "s3":
        return S3Storage.from_config(app.config)
    raise RuntimeError(f"unknown KTT_STORAGE {kind!r} (supported: {', '.join(STORAGE_KINDS)})")


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
    response.cache_control.public = True
    response.cache_control.immutable = True  # see IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register_media(app: Flask) -> None:
    """Add the media route and the `media_url` template helper to `app` (once)."""
    if "media" not in app.blueprints:
        app.register_blueprint(media_bp)
    app.jinja_env.globals["media_url"] = media_url
