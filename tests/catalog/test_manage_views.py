"""Product management pages: who may reach them, forms that say what is wrong, publish and stock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ktt_market.catalog.models import Batch, Certification, Product
from ktt_market.extensions import db
from ktt_market.registry.models import PlatformStatus
from tests.conftest import post_form

pytestmark = pytest.mark.core


def page(response) -> str:
    return response.get_data(as_text=True)


def fetch(app, model, **where):
    with app.app_context():
        obj = db.session.scalar(select(model).filter_by(**where))
        if obj is not None:
            db.session.expunge(obj)
        return obj


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def english_user(make_user):
    def make(**fields):
        return make_user(locale="en", **fields)

    return make


@pytest.fixture
def world(app, make_unit, make_staff, make_product, english_user):
    """Unit A with its owner, a product, a certificate and a batch; unit B with its own staff."""
    from ktt_market.catalog import services

    unit_a, unit_b = make_unit(name="HTX A"), make_unit(name="HTX B")
    owner_a = make_staff(unit_a, english_user())
    staff_b = make_staff(unit_b, english_user())
    product = make_product(unit_a, name="Bưởi da xanh", sku="BUOI-1", stock=7, price_vnd=45_000)
    with app.test_request_context():
        p = db.session.get(Product, product.id)
        cert = services.add_certification(
            p, actor=None, data=services.CertificationData("ocop", "OCOP-1", dt.date(2024, 1, 1), stars=4)
        )
        batch = services.add_batch(p, actor=None, data=services.BatchData("L1", dt.date(2025, 1, 1)))
        db.session.commit()
        ids = {"cert": cert.id, "batch": batch.id}
    return {"a": unit_a, "b": unit_b, "owner_a": owner_a, "staff_b": staff_b, "product": product, **ids}


def product_urls(world) -> list[tuple[str, str]]:
    p = world["product"].id
    return [
        ("GET", f"/manage/products/{p}"),
        ("POST", f"/manage/products/{p}"),
        ("GET", f"/manage/products/{p}/stock"),
        ("POST", f"/manage/products/{p}/stock"),
        ("POST", f"/manage/products/{p}/publish"),
        ("POST", f"/manage/products/{p}/unpublish"),
        ("GET", f"/manage/products/{p}/images"),
        ("POST", f"/manage/products/{p}/images"),
        ("GET", f"/manage/products/{p}/certifications"),
        ("POST", f"/manage/products/{p}/certifications"),
        ("POST", f"/manage/products/{p}/certifications/{world['cert']}/delete"),
        ("GET", f"/manage/products/{p}/batches"),
        ("POST", f"/manage/products/{p}/batches"),
        ("POST", f"/manage/products/{p}/batches/{world['batch']}/delete"),
        ("GET", f"/manage/units/{world['a'].id}/products"),
        ("GET", f"/manage/units/{world['a'].id}/products/new"),
        ("POST", f"/manage/units/{world['a'].id}/products/new"),
        ("GET", f"/manage/units/{world['a'].id}/products/import"),
        ("POST", f"/manage/units/{world['a'].id}/products/import"),
    ]


HOSTILE_FORM = {
    "name": "Bị đổi",
    "sku": "X",
    "category_id": "2",
    "sale_unit": "kg",
    "price_vnd": "1",
    "min_quantity": "1",
    "quantity_step": "1",
    "low_stock_threshold": "1",
    "stock": "0",
    "kind": "ocop",
    "stars": "5",
    "number": "N",
    "issued_on": "2025-01-01",
    "code": "L9",
    "produced_on": "2025-01-01",
}


@pytest.mark.parametrize("who", ["staff_b", "buyer", "officer"])
def test_outsiders_get_404_on_every_product_url_and_change_nothing(app, client, login, world, who, english_user):
    user = {"staff_b": world["staff_b"], "buyer": english_user(), "officer": english_user(role="officer")}[who]
    login(client, user)
    for method, url in product_urls(world):
        if method == "GET":
            response = client.get(url)
        else:
            response = post_form(client, url, HOSTILE_FORM)
        assert response.status_code == 404, (method, url)
    product = fetch(app, Product, id=world["product"].id)
    assert (product.name, product.stock, product.published) == ("Bưởi da xanh", 7, True)
    assert count(app, Product) == 1 and count(app, Certification) == 1 and count(app, Batch) == 1


def test_visitors_are_sent_to_log_in(client, world):
    for method, url in product_urls(world):
        response = client.get(url) if method == "GET" else client.post(url)
        assert response.status_code in (302, 400), (method, url)  # 400: a POST without its CSRF token
        if response.status_code == 302:
            assert "/account/login" in response.headers["Location"]


def test_staff_of_b_cannot_reach_a_product_through_their_own_unit(client, login, world):
    login(client, world["staff_b"])
    p, b = world["product"].id, world["b"].id
    assert client.get(f"/manage/units/{b}/products").status_code == 200
    assert "Bưởi da xanh" not in page(client.get(f"/manage/units/{b}/products"))
    assert client.get(f"/manage/products/{p}/images/1/delete").status_code == 405
    assert post_form(client, f"/manage/products/{p}/batches/{world['batch']}/delete").status_code == 404


def test_owner_lists_products_with_stock_and_state(client, login, world):
    login(client, world["owner_a"])
    listing = page(client.get(f"/manage/units/{world['a'].id}/products"))
    assert "Bưởi da xanh" in listing and "BUOI-1" in listing
    assert "On sale" in listing and ("45.000" in listing or "45,000" in listing)
    assert ">7<" in listing


def test_create_a_product_through_the_form(app, client, login, world):
    login(client, world["owner_a"])
    url = f"/manage/units/{world['a'].id}/products/new"
    form = client.get(url)
    assert form.status_code == 200 and 'for="price_vnd"' in page(form)
    response = post_form(
        client,
        url,
        {
            "name": "Kẹo dừa sữa",
            "sku": "",
            "category_id": "10",
            "sale_unit": "pack",
            "price_vnd": "35.000",
            "min_quantity": "2",
            "quantity_step": "2",
            "low_stock_threshold": "5",
            "stock": "120",
            "published": "y",
            "description": "Kẹo dừa Mỏ Cày\nđóng gói 400 g",
        },
    )
    assert response.status_code == 302
    product = fetch(app, Product, name="Kẹo dừa sữa")
    assert (product.sku, product.price_vnd, product.stock, product.published) == ("SP0001", 35_000, 120, True)
    assert product.min_quantity == 2 and product.description == "Kẹo dừa Mỏ Cày\nđóng gói 400 g"
    assert "keo dua sua" in product.search_text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price_vnd": "0"}, "above zero"),
        ({"price_vnd": "12,5"}, "whole number"),
        ({"min_quantity": "0"}, "at least 1"),
        ({"stock": "-3"}, "cannot be negative"),
        ({"name": ""}, "required"),
        ({"category_id": "999"}, "Not a valid choice"),
        ({"sku": "BUOI-1"}, "already has the code"),
    ],
)
def test_bad_product_forms_answer_422_and_change_nothing(app, client, login, world, fields, message):
    login(client, world["owner_a"])
    data = {
        "name": "Xoài cát",
        "category_id": "9",
        "sale_unit": "kg",
        "price_vnd": "60000",
        "min_quantity": "1",
        "quantity_step": "1",
        "low_stock_threshold": "5",
        "stock": "10",
    }
    data.update(fields)
    response = post_form(client, f"/manage/units/{world['a'].id}/products/new", data)
    assert response.status_code == 422
    assert message in page(response)
    assert count(app, Product) == 1


def test_edit_keeps_the_search_text_current(app, client, login, world):
    login(client, world["owner_a"])
    url = f"/manage/products/{world['product'].id}"
    data = {
        "name": "Bưởi Năm Roi",
        "sku": "BUOI-1",
        "category_id": "8",
        "sale_unit": "kg",
        "price_vnd": "50000",
        "min_quantity": "1",
        "quantity_step": "1",
        "low_stock_threshold": "3",
        "description": "",
    }
    assert post_form(client, url, data).status_code == 302
    product = fetch(app, Product, id=world["product"].id)
    assert product.name == "Bưởi Năm Roi" and product.price_vnd == 50_000
    assert product.search_text.startswith("buoi nam roi htx a")


def test_stock_and_publishing(app, client, login, world):
    login(client, world["owner_a"])
    p = world["product"].id
    assert post_form(client, f"/manage/products/{p}/stock", {"stock": "-1"}).status_code == 422
    assert post_form(client, f"/manage/products/{p}/stock", {"stock": "abc"}).status_code == 422
    assert fetch(app, Product, id=p).stock == 7
    assert post_form(client, f"/manage/products/{p}/stock", {"stock": "1.200"}).status_code == 302
    assert fetch(app, Product, id=p).stock == 1200
    assert post_form(client, f"/manage/products/{p}/unpublish").status_code == 302
    assert fetch(app, Product, id=p).published is False
    assert client.get(f"/manage/products/{p}/publish").status_code == 405  # no change on GET
    assert post_form(client, f"/manage/products/{p}/publish").status_code == 302
    assert fetch(app, Product, id=p).published is True


def test_a_unit_awaiting_approval_is_told_why_it_cannot_sell(app, client, login, make_unit, make_staff, english_user):
    unit = make_unit(platform_status=PlatformStatus.PENDING)
    login(client, make_staff(unit, english_user()))
    listing = page(client.get(f"/manage/units/{unit.id}/products"))
    assert "must be approved by the province" in listing
    new = client.get(f"/manage/units/{unit.id}/products/new")
    assert new.status_code == 200 and "must be approved by the province" in page(new)
    response = post_form(
        client,
        f"/manage/units/{unit.id}/products/new",
        {"name": "Gạo", "category_id": "1", "sale_unit": "kg", "price_vnd": "20000", "min_quantity": "1"}
        | {"quantity_step": "1", "low_stock_threshold": "1", "stock": "1"},
    )
    assert response.status_code == 422 and "must be approved" in page(response)
    assert count(app, Product) == 0


def test_certificates_through_the_page(app, client, login, world):
    login(client, world["owner_a"])
    url = f"/manage/products/{world['product'].id}/certifications"
    bad = post_form(client, url, {"kind": "ocop", "stars": "", "number": "OCOP-2", "issued_on": "2025-03-01"})
    assert bad.status_code == 422 and "3, 4 or 5 stars" in page(bad)
    good = post_form(client, url, {"kind": "vietgap", "number": "VG-7", "issued_on": "2025-03-01"})
    assert good.status_code == 302
    assert fetch(app, Certification, number="VG-7").valid_until == dt.date(2027, 3, 1)
    listing = page(client.get(url))
    assert "VG-7" in listing and "01/03/2027" in listing
    assert post_form(client, f"{url}/{world['cert']}/delete").status_code == 302
    assert count(app, Certification) == 1


def test_batches_through_the_page_link_to_the_public_page(app, client, login, world):
    login(client, world["owner_a"])
    url = f"/manage/products/{world['product'].id}/batches"
    bad = post_form(client, url, {"code": "L2", "produced_on": "2025-05-02", "expires_on": "2025-05-01"})
    assert bad.status_code == 422 and "cannot expire before" in page(bad)
    duplicate = post_form(client, url, {"code": "L1", "produced_on": "2025-05-02"})
    assert duplicate.status_code == 422 and "already has a batch" in page(duplicate)
    assert post_form(client, url, {"code": "L2", "produced_on": "2025-05-02"}).status_code == 302
    batch = fetch(app, Batch, code="L2")
    listing = page(client.get(url))
    assert f"/trace/{batch.public_token}" in listing and f"/trace/{batch.public_token}/qr.svg" in listing
