"""Public traceability pages: open to anyone with the token, showing the right facts and nothing else."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from ktt_market.catalog import services, traceability
from ktt_market.catalog.models import Product
from ktt_market.extensions import db
from ktt_market.registry.models import Unit

pytestmark = pytest.mark.core


@pytest.fixture
def batch(app, make_unit, make_product):
    unit = make_unit(name="Hợp tác xã Bưởi Giồng Trôm", ward_code=29242, street="Ấp 4")
    product = make_product(unit, name="Bưởi da xanh", price_vnd=45_678, stock=321)
    today = dt.date.today()
    with app.test_request_context():
        p = db.session.get(Product, product.id)
        data = services.CertificationData
        services.add_certification(
            p, actor=None, data=data("ocop", "OCOP-VL-4", today - dt.timedelta(days=30), stars=4)
        )
        services.add_certification(p, actor=None, data=data("vietgap", "VG-OLD-1", dt.date(2020, 1, 1)))  # expired
        out = io.BytesIO()
        Image.new("RGB", (600, 400), "green").save(out, "PNG")
        image = services.add_image(p, actor=None, data=out.getvalue(), alt="Bưởi chín")
        b = services.add_batch(
            p,
            actor=None,
            data=services.BatchData("BX-2025-07", dt.date(2025, 7, 1), dt.date(2025, 9, 30), note="kho số 2, nội bộ"),
        )
        db.session.commit()
        return {"token": b.public_token, "image_key": image.key, "unit_id": unit.id}


def test_the_page_is_public_and_shows_the_facts(client, batch):
    response = client.get(f"/trace/{batch['token']}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for fact in (
        "Bưởi da xanh",
        "Hợp tác xã Bưởi Giồng Trôm",
        "Ấp 4",
        "Phường Trà Vinh",
        "Vĩnh Long",
        "BX-2025-07",
        "01/07/2025",
        "30/09/2025",
        "OCOP-VL-4",
        f"/media/{batch['image_key']}",
        f"/trace/{batch['token']}/qr.svg",
    ):
        assert fact in text, fact
    # An expired certificate stops showing on its own; nothing private or commercial is shown.
    for hidden in ("VG-OLD-1", "45.678", "45,678", "321", "kho số 2", "/manage/"):
        assert hidden not in text, hidden


def test_unknown_tokens_are_404(client, batch):
    assert client.get("/trace/not-a-real-token").status_code == 404
    assert client.get("/trace/not-a-real-token/qr.svg").status_code == 404
    assert client.get(f"/trace/{batch['token'][:-1]}").status_code == 404


def test_qr_code_is_an_svg_of_the_pages_absolute_address(app, client, batch, monkeypatch):
    import segno

    seen = []
    real_make = segno.make

    def spy(content, **kwargs):
        seen.append(content)
        return real_make(content, **kwargs)

    monkeypatch.setattr(segno, "make", spy)
    response = client.get(f"/trace/{batch['token']}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and b"<path" in response.data
    with app.test_request_context():
        expected = traceability.trace_url(batch["token"])
    assert expected == f"http://ktt.test/trace/{batch['token']}"
    assert seen == [expected]


def test_the_page_stays_after_the_unit_changes_but_follows_its_address(app, client, batch):
    with app.app_context():
        db.session.get(Unit, batch["unit_id"]).street = "Ấp 5"
        db.session.commit()
    text = client.get(f"/trace/{batch['token']}").get_data(as_text=True)
    assert "Ấp 5" in text and "Ấp 4" not in text
