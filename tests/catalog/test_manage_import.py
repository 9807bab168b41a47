"""Bulk product import: preview then confirm; every bad row reported by number; nothing written on error."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from ktt_market.catalog.models import Product, SaleUnit
from ktt_market.extensions import db
from tests.conftest import post_form

pytestmark = pytest.mark.core

HEADER = ["sku", "name", "category", "sale_unit", "min_quantity", "quantity_step", "price_vnd", "stock", "published"]


def csv_bytes(rows: list[dict], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or HEADER, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append([r.get(c, "") for c in HEADER])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(sku: str, **fields) -> dict:
    values = {
        "sku": sku,
        "name": f"Sản phẩm {sku}",
        "category": "trai-cay",
        "sale_unit": "kg",
        "min_quantity": "1",
        "quantity_step": "1",
        "price_vnd": "45.000",
        "stock": "10",
        "published": "yes",
    }
    values.update({k: str(v) for k, v in fields.items()})
    return values


def products(app) -> dict[str, Product]:
    with app.app_context():
        found = {p.sku: p for p in db.session.scalars(select(Product))}
        for p in found.values():
            db.session.expunge(p)
        return found


@pytest.fixture
def owner(client, login, make_unit, make_staff, make_user, make_product):
    unit = make_unit(name="HTX Dừa")
    user = make_staff(unit, make_user(locale="en"))
    make_product(unit, sku="DUA-1", name="Dừa sáp", price_vnd=90_000, stock=5, category_id=5)
    login(client, user)
    return unit


def send(client, unit, data: bytes, filename="products.csv"):
    return post_form(
        client,
        f"/manage/units/{unit.id}/products/import",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_good_file_creates_and_updates_after_confirmation(app, client, owner):
    data = csv_bytes(
        [
            row("BUOI-1", name="Bưởi da xanh", category="buoi"),
            row("dua-1", name="", category="", price_vnd="95000", stock="", published=""),
        ]
    )
    response = send(client, owner, data)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    assert "BUOI-1" in preview and "DUA-1" in preview
    assert len(products(app)) == 1  # nothing written by the preview
    token = re.search(r"/import/([0-9a-f]{32})", preview_url).group(1)
    confirmed = post_form(client, f"/manage/units/{owner.id}/products/import/{token}/confirm")
    assert confirmed.status_code == 302
    stored = products(app)
    assert set(stored) == {"BUOI-1", "DUA-1"}
    assert stored["BUOI-1"].name == "Bưởi da xanh" and stored["BUOI-1"].published
    assert stored["BUOI-1"].category_id == 8 and stored["BUOI-1"].price_vnd == 45_000
    assert "buoi da xanh" in stored["BUOI-1"].search_text
    # Empty cells keep what is stored.
    assert (stored["DUA-1"].name, stored["DUA-1"].price_vnd, stored["DUA-1"].stock) == ("Dừa sáp", 95_000, 5)
    # The file is forgotten once applied.
    assert client.get(preview_url).status_code == 404


def test_xlsx_and_prices_only_files(app, client, owner):
    response = send(client, owner, xlsx_bytes([row("M1", sale_unit="hũ", category="mat-ong")]), "sp.xlsx")
    token = re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    assert post_form(client, f"/manage/units/{owner.id}/products/import/{token}/confirm").status_code == 302
    assert products(app)["M1"].sale_unit is SaleUnit.JAR
    response = send(
        client, owner, csv_bytes([{"sku": "M1", "price_vnd": "120000", "stock": "0"}], ["sku", "price_vnd", "stock"])
    )
    token = re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    assert post_form(client, f"/manage/units/{owner.id}/products/import/{token}/confirm").status_code == 302
    m1 = products(app)["M1"]
    assert (m1.price_vnd, m1.stock, m1.name) == (120_000, 0, "Sản phẩm M1")


def test_every_bad_row_is_reported_and_nothing_written(app, client, owner):
    rows = [
        row("OK-1"),
        row("", name="Không mã"),  # row 3
        row("P0", price_vnd="0"),  # row 4
        row("Q1", stock="-2"),  # row 5
        row("C1", category="oto"),  # row 6
        row("U1", sale_unit="tấn"),  # row 7
        row("OK-1"),  # row 8: duplicate
        row("N1", name=""),  # row 9: a new product needs a name
        row("Y1", published="maybe"),  # row 10
        row("S1", min_quantity="1,5"),  # row 11
    ]
    response = send(client, owner, csv_bytes(rows))
    preview = client.get(response.headers["Location"])
    text = preview.get_data(as_text=True)
    for number, words in [
        (3, "missing value in column sku"),
        (4, "above zero"),
        (5, "cannot be negative"),
        (6, "unknown category oto"),
        (7, "unknown unit of sale"),
        (8, "duplicate code OK-1 (first on row 2)"),
        (9, "needs a value in column name"),
        (10, "write yes or no"),
        (11, "not a whole number"),
    ]:
        assert re.search(rf'<td class="num"[^>]*>{number}</td><td>[^<]*{re.escape(words)}', text), (number, words)
    assert "Confirm the import" not in text
    token = re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    confirmed = post_form(client, f"/manage/units/{owner.id}/products/import/{token}/confirm")
    assert confirmed.status_code == 422
    assert set(products(app)) == {"DUA-1"}


def test_unreadable_files_and_unknown_columns(app, client, owner):
    response = send(client, owner, b"\x00\x01\x02binary", "x.csv")
    assert response.status_code == 422 and "cannot be read" in response.get_data(as_text=True)
    response = send(client, owner, csv_bytes([{"sku": "A", "colour": "red"}], ["sku", "colour"]))
    assert "unknown column colour" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = send(client, owner, csv_bytes([{"name": "A"}], ["name"]))
    assert "missing required column sku" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_another_unit_cannot_see_or_apply_the_upload(app, client, owner, login, make_unit, make_staff, make_user):
    response = send(client, owner, csv_bytes([row("X1")]))
    location = response.headers["Location"]
    token = re.search(r"/import/([0-9a-f]{32})", location).group(1)
    other = app.test_client()
    login(other, make_staff(make_unit(), make_user(locale="en")))
    assert other.get(location).status_code == 404
    assert post_form(other, f"/manage/units/{owner.id}/products/import/{token}/confirm").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1


def test_cancel_forgets_the_file(client, owner):
    response = send(client, owner, csv_bytes([row("X1")]))
    token = re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    assert post_form(client, f"/manage/units/{owner.id}/products/import/{token}/cancel").status_code == 302
    assert client.get(response.headers["Location"]).status_code == 404
