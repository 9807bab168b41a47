"""The upload disk full: a cooperative's photo is refused with a clear message, nothing half kept.

The upload folder is a small tmpfs of its own, filled up to the last byte; gunicorn serves the app
with KTT_UPLOAD_FOLDER pointing at it.
"""

from __future__ import annotations

import errno
import html
import os
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.support.processes import Web
from tests.support.shopper import Shopper, hidden

from .tally import Tally

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KB tmpfs, unmounted afterwards; skipped where this process may not mount one."""
    mount = tmp_path / "uploads"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs as the upload folder needs root (unshare cannot give gunicorn one)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into `folder` until the disk refuses another byte."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as fh:
        chunk = b"\0" * 4096
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def photo() -> bytes:
    out = BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((640, 480)).save(out, "JPEG", quality=80)
    return out.getvalue()


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_photo_upload_on_a_full_disk_is_refused_cleanly_and_works_once_space_frees(
    app, stack, make_unit, make_staff, make_product, small_disk, request
):
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from ktt_market.catalog.models import ProductImage
    from ktt_market.extensions import db

    unit = make_unit(name="HTX Dừa Sáp Cầu Kè")
    manager = make_staff(unit)
    product = make_product(unit, name="Dừa sáp")
    web = Web({**stack["env"], "KTT_UPLOAD_FOLDER": str(small_disk)}, stack["base"]).start()
    tally = Tally("upload disk full")
    try:
        owner = Shopper(web.url)
        response = owner.post(
            "/account/login",
            {"email": manager.email, "password": "mat-khau-an-toan"},
            form_page="/account/login",
            allow_redirects=False,
        )
        assert response.status_code == 302
        path = f"/manage/products/{product.id}/images"

        def upload():
            tally.sent += 1
            page = owner.get(path)
            return owner.http.post(
                owner.base + path,
                data={"csrf_token": hidden(page.text, "csrf_token"), "alt": "Dừa sáp bổ đôi"},
                files={"file": ("dua-sap.jpg", photo(), "image/jpeg")},
                allow_redirects=False,
                timeout=30,
            )

        filler = fill(small_disk)
        refused = upload()
        with app.test_request_context(), force_locale("vi"):
            message = _(
                "The server has no room for photos right now, so this one was not saved. Please try again later."
            )
        assert refused.status_code == 422, refused.text[:1000]
        assert message in html.unescape(refused.text)
        assert 'lang="vi"' in refused.text
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0
            db.session.remove()
        # Nothing half-written: the filler alone (a sub-folder the store made may stay, empty).
        assert files_in(small_disk) == ["filler.bin"]
        assert "/media/" not in owner.get(f"/p/{product.id}").text
        tally.failed_cleanly += 1

        filler.unlink()
        added = upload()
        assert added.status_code == 302, added.text[:1000]
        with app.app_context():
            [image] = db.session.scalars(select(ProductImage)).all()
            key, thumb_key = image.key, image.thumb_key
            db.session.remove()
        assert sorted(Path(f).name for f in files_in(small_disk)) == sorted([key, thumb_key])
        served = owner.get(f"/media/{key}")
        assert served.status_code == 200
        assert served.content[:4] == b"RIFF" or served.content[:2] == b"\xff\xd8"
        tally.succeeded += 1
    finally:
        web.stop()
        tally.record(request.node)
    assert tally.lost == 0
