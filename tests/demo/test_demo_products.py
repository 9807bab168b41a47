"""`flask demo load` also stocks the approved cooperatives' shops: products, photos, certificates, batches."""

from __future__ import annotations

from functools import cache

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.core


@cache
def _hash(password: str) -> str:
    from ktt_market.accounts.passwords import hash_password

    return hash_password(password)


@pytest.fixture
def loaded(app, runner, monkeypatch):
    monkeypatch.setattr("ktt_market.demo.data.hash_password", _hash)
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result


def _catalogue_counts(app) -> dict[str, int]:
    from ktt_market.catalog.models import Batch, Certification, Product, ProductImage
    from ktt_market.extensions import db

    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Product, ProductImage, Certification, Batch)
        }


def test_approved_cooperatives_sell_published_products_with_photos(app, client, loaded):
    from ktt_market.catalog import services
    from ktt_market.catalog.models import CertificationKind, Product
    from ktt_market.core.text import fold
    from ktt_market.extensions import db

    counts = _catalogue_counts(app)
    assert counts["products"] >= 25 and counts["product_images"] == counts["products"]
    assert counts["batches"] >= 4
    with app.test_request_context():
        products = list(db.session.scalars(select(Product)))
        assert all(p.published and p.unit.can_sell and p.price_vnd > 0 for p in products)
        assert all(p.search_text == p.search_text.lower() and p.province_code == 86 for p in products)
        names = " ".join(fold(p.name) for p in products)
        for word in ("buoi da xanh", "dua sap", "keo dua", "gao", "mat ong", "tom kho", "chieu"):
            assert word in names, word
        ocop4 = [p for p in products if services.ocop_stars(p) == 4]
        vietgap = db.session.scalars(select(Product.id).where(services.certified_filter(CertificationKind.VIETGAP)))
        assert len(ocop4) >= 2 and len(list(vietgap)) >= 2
        image = products[0].images[0]
        batch = next(p for p in products if p.batches).batches[0]
    assert client.get(f"/media/{image.thumb_key}").status_code == 200
    assert client.get(f"/trace/{batch.public_token}").status_code == 200


def test_second_run_adds_no_products(app, runner, loaded):
    before = _catalogue_counts(app)
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert _catalogue_counts(app) == before


def test_the_demo_manager_can_be_paid_by_vietqr_transfer(app, loaded):
    from ktt_market.extensions import db
    from ktt_market.orders.payments import available_payment_options
    from ktt_market.payments import vietqr
    from ktt_market.registry.models import Unit

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.registration_code == "2100512345"))
        payload = vietqr.build_payload(bin=unit.bank_bin, account=unit.bank_account, amount=120_000, reference="KTT1")
        assert vietqr.parse_payload(payload)["account"] == "7302205123456"
        assert "bank_transfer" in {str(o.code) for o in available_payment_options(app)}
