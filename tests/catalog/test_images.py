"""Photo uploads: checked by content, re-encoded without metadata, bombs and impostors refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from ktt_market.catalog.models import ProductImage
from ktt_market.core import images, storage
from ktt_market.extensions import db
from tests.conftest import post_form

pytestmark = pytest.mark.core

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo(fmt: str = "JPEG", size=(1200, 800), mode="RGB", exif: bool = True) -> bytes:
    """A real image made here, with camera and GPS metadata and an orientation tag (rotate 90°)."""
    img = Image.new(mode, size, "#3a7d44" if mode == "RGB" else None)
    out = io.BytesIO()
    kwargs = {}
    if exif:
        tags = img.getexif()
        tags[0x010F] = "Canon"  # make
        tags[0x0110] = "EOS 5D"  # model
        tags[ORIENTATION] = 6
        tags.get_ifd(GPS_IFD).update({1: "N", 2: (10.0, 14.0, 30.0)})
        kwargs["exif"] = tags
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge picture (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")
    )


@pytest.fixture
def ctx_en(ctx):
    from flask_babel import force_locale

    with force_locale("en"):
        yield


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_real_photos_are_accepted_and_cleaned(ctx_en, fmt):
    result = images.process_image(photo(fmt))
    for encoded, longest in ((result.full, 1200), (result.thumb, 400)):
        out = Image.open(io.BytesIO(encoded.data))
        assert out.format in ("WEBP", "JPEG")
        assert dict(out.getexif()) == {}  # no EXIF: no camera, no GPS, no orientation
        assert "exif" not in out.info and "xmp" not in out.info
        assert max(out.size) == longest
    if fmt != "PNG":  # PNG carries EXIF too, but only JPEG and WebP readers apply orientation everywhere
        assert (result.full.width, result.full.height) == (800, 1200)  # turned upright by its EXIF orientation


def test_large_photos_are_shrunk_to_1600_px(ctx_en):
    result = images.process_image(photo("PNG", size=(4000, 1000), exif=False))
    assert (result.full.width, result.full.height) == (1600, 400)
    assert (result.thumb.width, result.thumb.height) == (400, 100)


def test_transparent_png_is_put_on_white(ctx_en):
    result = images.process_image(photo("PNG", size=(10, 10), mode="RGBA", exif=False))
    assert Image.open(io.BytesIO(result.full.data)).convert("RGB").getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Hello, this is a text file renamed to .jpg\n", "not a photo"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "not a photo"),
        (b"", "empty"),
        (photo("GIF", exif=False), "not a photo"),
        (photo("BMP", exif=False), "not a photo"),
        (photo("PNG", exif=False)[:-40], "not a photo"),  # truncated
        (png_declaring(20_000, 20_000), "megapixels"),
        (png_declaring(8_000, 6_000), "megapixels"),  # 48 MP: over our limit, under Pillow's
    ],
)
def test_bad_files_are_refused(ctx_en, data, reason):
    with pytest.raises(images.ImageRejected, match=reason):
        images.process_image(data)


def test_a_bomb_made_with_pillow_is_refused(ctx_en):
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # 400 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    with pytest.raises(images.ImageRejected, match="megapixels"):
        images.process_image(out.getvalue())


def test_oversized_files_are_refused_before_reading(app, ctx_en, monkeypatch):
    monkeypatch.setitem(app.config, "KTT_MAX_IMAGE_BYTES", 1000)
    with pytest.raises(images.ImageRejected, match="too large"):
        images.process_image(photo("JPEG"))


# ------------------------------------------------------------------ through the upload page


def media_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"]) / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def image_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ProductImage))


@pytest.fixture
def product_page(app, client, login, make_unit, make_staff, make_product, make_user):
    unit = make_unit()
    login(client, make_staff(unit, make_user(locale="en")))
    product = make_product(unit)
    return f"/manage/products/{product.id}/images"


def upload(client, path, data: bytes, filename: str):
    return post_form(
        client, path, {"file": (io.BytesIO(data), filename), "alt": "Trái bưởi"}, content_type="multipart/form-data"
    )


def test_upload_stores_a_clean_photo_under_a_server_chosen_name(app, client, product_page):
    before = media_files(app)
    response = upload(client, product_page, photo("JPEG"), "IMG_0001 ../../evil.jpg")
    assert response.status_code == 302
    new = [p for p in media_files(app) if p not in before]
    assert len(new) == 2  # the photo and its thumbnail
    assert all(storage.is_valid_key(p.name) for p in new)
    with app.app_context():
        stored = db.session.scalar(select(ProductImage))
        assert stored.alt == "Trái bưởi" and (stored.width, stored.height) == (800, 1200)
    page = client.get(product_page).get_data(as_text=True)
    assert f"/media/{stored.thumb_key}" in page
    served = client.get(f"/media/{stored.key}")
    assert served.status_code == 200 and served.mimetype in ("image/webp", "image/jpeg")
    assert dict(Image.open(io.BytesIO(served.data)).getexif()) == {}


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"just some text", "photo.jpg"),
        (b"%PDF-1.4\n%%EOF\n", "scan.jpg"),
        (png_declaring(20_000, 20_000), "bomb.png"),
    ],
)
def test_refused_uploads_store_nothing_and_say_why(app, client, product_page, data, filename):
    before = media_files(app)
    response = upload(client, product_page, data, filename)
    assert response.status_code == 422
    assert "JPEG, PNG or WebP" in response.get_data(as_text=True) or "megapixels" in response.get_data(as_text=True)
    assert media_files(app) == before
    assert image_count(app) == 0


def test_oversized_upload_is_refused(app, client, product_page, monkeypatch):
    monkeypatch.setitem(app.config, "KTT_MAX_IMAGE_BYTES", 2000)
    before = media_files(app)
    response = upload(client, product_page, photo("JPEG"), "big.jpg")
    assert response.status_code == 422
    assert "too large" in response.get_data(as_text=True)
    assert media_files(app) == before and image_count(app) == 0


def test_photos_can_be_reordered_and_removed(app, client, product_page):
    for colour in ("red", "blue"):
        out = io.BytesIO()
        Image.new("RGB", (50, 50), colour).save(out, "PNG")
        assert upload(client, product_page, out.getvalue(), f"{colour}.png").status_code == 302
    with app.app_context():
        first, second = db.session.scalars(select(ProductImage).order_by(ProductImage.position)).all()
        keys = {first.key, first.thumb_key}
    assert post_form(client, f"{product_page}/{second.id}/move", {"direction": "up"}).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(ProductImage.id).order_by(ProductImage.position)).all() == [
            second.id,
            first.id,
        ]
    assert post_form(client, f"{product_page}/{first.id}/delete").status_code == 302
    assert image_count(app) == 1
    assert not any(p.name in keys for p in media_files(app))
