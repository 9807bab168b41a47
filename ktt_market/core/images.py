"""Uploaded photos: checked by their content, re-encoded without metadata, stored under new names.

Only JPEG, PNG and WebP are accepted, whatever the file is called or claims to be. A file is refused
before it is decoded when it is too large or declares too many pixels (a decompression bomb: a few
kilobytes that unpack into gigabytes). What is kept is a fresh encoding of the pixels alone, turned
upright by its EXIF orientation, so no EXIF, GPS position or other metadata survives.
"""

from __future__ import annotations

import errno
import uuid
from dataclasses import dataclass
from io import BytesIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError, features

from .errors import ServiceError
from .storage import Storage, get_storage

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # 40 megapixels: any real camera photo, far below what a bomb declares
MAX_SIDE = 1600
THUMB_SIDE = 400


class ImageRejected(ServiceError):
    """The upload is not an image we accept; `message` says why, for the person who sent it."""


class StorageFull(ServiceError):
    """The photo is fine but the store has no room for it now; nothing was kept."""


# A full disk or an exhausted quota: the person can do nothing but try later, and must be told so.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    width: int
    height: int
    extension: str
    content_type: str


@dataclass(frozen=True)
class ProcessedImage:
    """A cleaned photo and its thumbnail, ready to store."""

    full: EncodedImage
    thumb: EncodedImage


@dataclass(frozen=True)
class StoredImage:
    key: str
    thumb_key: str
    width: int
    height: int


def max_image_bytes() -> int:
    """Return the largest photo file accepted (config KTT_MAX_IMAGE_BYTES)."""
    return int(current_app.config.get("KTT_MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES))


def _output_format() -> tuple[str, str, str]:
    # WebP is smaller for the same quality; a Pillow built without it falls back to JPEG.
    if features.check("webp"):
        return "WEBP", "webp", "image/webp"
    return "JPEG", "jpg", "image/jpeg"


def _encode(img: Image.Image) -> EncodedImage:
    fmt, extension, content_type = _output_format()
    out = BytesIO()
    if fmt == "WEBP":
        img.save(out, "WEBP", quality=82, method=4)
    else:
        img.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return EncodedImage(out.getvalue(), img.width, img.height, extension, content_type)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Return the pixels alone as RGB: transparency on white, and no metadata carried along."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        base = Image.new("RGB", img.size, (255, 255, 255))
        base.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return base
    rgb = img.convert("RGB")
    # A fresh image: `convert` may copy `info` (EXIF, ICC, XMP), which some encoders would write back.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean


def process_image(data: bytes, *, max_bytes: int | None = None, max_pixels: int = MAX_PIXELS) -> ProcessedImage:
    """Check `data` by content and return it re-encoded (at most 1600 px) with a 400 px thumbnail.

    Raise ImageRejected for anything but a sound JPEG, PNG or WebP within the size and pixel limits.
    """
    limit = max_bytes if max_bytes is not None else max_image_bytes()
    if not data:
        raise ImageRejected(_("The file is empty."))
    if len(data) > limit:
        raise ImageRejected(
            _("The photo is too large: at most %(size)s MB.", size=f"{limit / (1024 * 1024):.0f}"),
        )
    not_an_image = ImageRejected(_("This file is not a photo we accept. Upload a JPEG, PNG or WebP image."))
    too_many_pixels = ImageRejected(
        _("The image is too large: at most %(mp)d megapixels.", mp=max_pixels // 1_000_000),
    )
    try:
        # First pass: identify by content (only our three formats are tried) and check the declared size
        # before any pixel is decoded; `verify` then reads the file through without decoding it.
        with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            fmt = probe.format
            width, height = probe.size
            if width < 1 or height < 1:
                raise not_an_image
            if width * height > max_pixels:
                raise too_many_pixels
            probe.verify()
        # Second pass: `verify` leaves an image unusable, so open again to decode.
        with Image.open(BytesIO(data), formats=(fmt,)) as img:
            if img.size != (width, height):
                raise not_an_image
            if fmt == "JPEG":
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at a reduced scale when the photo is large
            upright = ImageOps.exif_transpose(img)
            rgb = _to_rgb(upright)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (far above ours) stops a declared size before we could look at it.
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        raise not_an_image from None
    full = rgb.copy()
    full.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = rgb.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return ProcessedImage(full=_encode(full), thumb=_encode(thumb))


def new_key(extension: str) -> str:
    """Return a fresh server-chosen storage key."""
    return f"{uuid.uuid4().hex}.{extension}"


def store_image(data: bytes, *, storage: Storage | None = None, max_bytes: int | None = None) -> StoredImage:
    """Check, clean and store an uploaded photo and its thumbnail; nothing is stored on refusal."""
    processed = process_image(data, max_bytes=max_bytes)
    storage = storage or get_storage()
    key = new_key(processed.full.extension)
    thumb_key = new_key(processed.thumb.extension)
    try:
        storage.save(key, processed.full.data, processed.full.content_type)
        try:
            storage.save(thumb_key, processed.thumb.data, processed.thumb.content_type)
        except BaseException:
            storage.delete(key)
            raise
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        raise StorageFull(
            _("The server has no room for photos right now, so this one was not saved. Please try again later."),
            "file",
        ) from exc
    return StoredImage(key=key, thumb_key=thumb_key, width=processed.full.width, height=processed.full.height)
