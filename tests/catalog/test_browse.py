"""Public catalogue pages: home, categories, storefronts and product pages."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.fixture
def en(client):
    """A visitor who chose English (the assertions read English; Vietnamese is the default)."""
    post_form(client, "/lang", {"lang": "en"})
    return client


@pytest.fixture
def unit(make_unit):
    return make_unit(name="Hợp tác xã Bưởi Tân Triều", street="Ấp Bình Hòa")


@pytest.fixture
def add_certification(app):
    from ktt_market.catalog.models import Certification, CertificationKind
    from ktt_market.core.i18n import local_today
    from ktt_market.extensions import db

    def add(product, kind: str, *, number: str, valid_until: dt.date, stars: int | None = None, name=None):
        with app.app_context():
            db.session.add(
                Certification(
                    product_id=product.id,
                    kind=CertificationKind(kind),
                    stars=stars,
                    number=number,
                    name=name,
                    issued_on=local_today() - dt.timedelta(days=800),
                    valid_until=valid_until,
                )
            )
            db.session.commit()

    return add


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- home


def test_home_shows_categories_featured_and_new_products_and_a_search_box(en, unit, make_product):
    make_product(unit, name="Bưởi da xanh đặc biệt", featured=True, category_id=8)
    make_product(unit, name="Xoài cát Hòa Lộc", category_id=9)

    html = page(en.get("/"))

    assert 'href="/c/trai-cay"' in html and 'href="/c/buoi"' in html  # a category and its child
    featured = html.split("Featured products")[1].split("New products")[0]
    assert "Bưởi da xanh đặc biệt" in featured and "Xoài cát Hòa Lộc" not in featured
    assert "Xoài cát Hòa Lộc" in html.split("New products")[1]
    assert 'action="/search"' in html and '<label for="home-q">' in html


def test_home_leaves_out_featured_products_of_units_that_cannot_sell(client, make_unit, make_product):
    from ktt_market.registry.models import PlatformStatus

    pending = make_unit(platform_status=PlatformStatus.PENDING)
    make_product(pending, name="Sản phẩm chờ duyệt", featured=True)

    assert "Sản phẩm chờ duyệt" not in page(client.get("/"))


def test_pages_are_in_vietnamese_by_default(client, unit, make_product):
    product = make_product(unit, name="Gạo ST25")

    for path in ("/", "/search", "/c/gao", f"/store/{unit.id}", f"/p/{product.id}"):
        html = page(client.get(path))
        assert '<html lang="vi">' in html, path
        assert "Đăng nhập" in html, path


# ---------------------------------------------------------------- categories


def test_category_page_lists_its_products_and_its_children(en, unit, make_product):
    make_product(unit, name="Bưởi năm roi", category_id=8)
    make_product(unit, name="Gạo lứt", category_id=1)

    html = page(en.get("/c/trai-cay"))

    assert "<h1>Fruit</h1>" in html
    assert 'href="/c/buoi"' in html and 'href="/c/xoai"' in html
    assert "Bưởi năm roi" in html and "Gạo lứt" not in html


def test_unknown_category_is_404(client):
    assert client.get("/c/khong-co").status_code == 404


# ---------------------------------------------------------------- storefronts


def test_storefront_shows_address_products_and_rating(app, en, unit, make_product, make_user, make_order):
    from ktt_market.core.models import utcnow
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    pomelo = make_product(unit, name="Bưởi da xanh")
    make_product(unit, name="Bưởi năm roi")
    make_product(unit, name="Bưởi chưa đăng", published=False)
    # Buyers rate the cooperative itself in each review; a hidden review does not count.
    with app.app_context():
        for unit_rating, hidden in ((5, False), (5, False), (5, False), (3, False), (1, True)):
            buyer = make_user()
            bought = make_order(unit, buyer, [(pomelo, 1)])
            db.session.add(
                Review(
                    order_line_id=bought.line_ids[0],
                    product_id=pomelo.id,
                    unit_id=unit.id,
                    buyer_id=buyer.id,
                    product_rating=4,
                    unit_rating=unit_rating,
                    hidden_at=utcnow() if hidden else None,
                )
            )
        db.session.commit()

    html = page(en.get(f"/store/{unit.id}"))

    assert "<h1>Hợp tác xã Bưởi Tân Triều</h1>" in html
    assert "Ấp Bình Hòa" in html and "Vĩnh Long" in html
    assert "Bưởi da xanh" in html and "Bưởi năm roi" in html and "Bưởi chưa đăng" not in html
    assert "★ 4.5" in html and "4 reviews" in html  # (5×3 + 3) / 4 visible reviews of the cooperative


@pytest.mark.parametrize(
    "fields",
    [
        {"platform_status": "pending"},
        {"platform_status": "rejected"},
        {"platform_status": "not_joined"},
        {"dissolved_on": dt.date(2024, 1, 1)},
    ],
)
def test_storefront_of_a_unit_that_cannot_sell_is_404(client, make_unit, make_product, fields):
    from ktt_market.registry.models import PlatformStatus

    if "platform_status" in fields:
        fields = {"platform_status": PlatformStatus(fields["platform_status"])}
    other = make_unit(**fields)
    product = make_product(other, name="Không được bán")

    assert client.get(f"/store/{other.id}").status_code == 404
    assert client.get(f"/p/{product.id}").status_code == 404


def test_unknown_storefront_is_404(client):
    assert client.get("/store/999999").status_code == 404


# ---------------------------------------------------------------- product pages


def test_product_page_shows_price_sale_unit_quantities_and_cooperative(en, unit, make_product):
    from ktt_market.catalog.models import SaleUnit

    product = make_product(
        unit, name="Bưởi da xanh", price_vnd=150_000, sale_unit=SaleUnit.BOX, min_quantity=2, quantity_step=2
    )

    html = page(en.get(f"/p/{product.id}"))

    assert "<h1>Bưởi da xanh</h1>" in html
    assert "150,000" in html and "₫" in html
    assert "/ box" in html
    assert "Minimum order</dt><dd>2 box" in html
    assert "Sold in steps of</dt><dd>2 box" in html
    assert f'href="/store/{unit.id}">Hợp tác xã Bưởi Tân Triều</a>' in html


def test_product_page_price_is_in_dong_in_vietnamese(client, unit, make_product):
    product = make_product(unit, price_vnd=150_000)

    assert "150.000\xa0₫" in page(client.get(f"/p/{product.id}"))


@pytest.mark.parametrize(
    ("stock", "shown"), [(100, "In stock"), (3, "Only 3 left"), (5, "Only 5 left"), (0, "Sold out")]
)
def test_stock_state(en, unit, make_product, stock, shown):
    product = make_product(unit, stock=stock, low_stock_threshold=5)

    assert shown in page(en.get(f"/p/{product.id}"))
    assert shown in page(en.get("/search"))


def test_product_page_shows_only_valid_certifications(en, unit, make_product, add_certification):
    from ktt_market.core.i18n import local_today

    today = local_today()
    product = make_product(unit, name="Kẹo dừa sáp")
    add_certification(product, "ocop", number="OCOP-4SAO", stars=4, valid_until=today)  # last valid day
    add_certification(product, "vietgap", number="VG-CU", valid_until=today - dt.timedelta(days=1))
    add_certification(product, "other", number="HALAL-1", name="Halal", valid_until=today + dt.timedelta(days=90))

    html = page(en.get(f"/p/{product.id}"))

    assert "OCOP-4SAO" in html and "★★★★" in html and "4 stars" in html
    assert "Halal" in html and "HALAL-1" in html
    assert "VG-CU" not in html and "VietGAP" not in html.split("Certifications")[1]


def test_product_page_shows_rating(en, unit, make_product):
    rated = make_product(unit, rating_avg=4.25, rating_count=12)
    unrated = make_product(unit)

    assert "★ 4.2" in page(en.get(f"/p/{rated.id}")) or "★ 4.3" in page(en.get(f"/p/{rated.id}"))
    assert "12 reviews" in page(en.get(f"/p/{rated.id}"))
    assert "No reviews yet" in page(en.get(f"/p/{unrated.id}"))


def test_add_to_cart_form_when_the_cart_exists(app, client, unit, make_product):
    product = make_product(unit)
    sold_out = make_product(unit, stock=0)

    html = page(client.get(f"/p/{product.id}"))

    if "orders.cart_add" in app.view_functions:
        from flask import url_for

        with app.test_request_context():
            action = url_for("orders.cart_add")
        assert f'action="{action}"' in html and f'name="product_id" value="{product.id}"' in html
        assert 'name="csrf_token"' in html
        assert 'name="product_id"' not in page(client.get(f"/p/{sold_out.id}"))
    else:
        assert 'name="product_id"' not in html


def test_unpublished_product_page_is_404(client, unit, make_product):
    product = make_product(unit, published=False)

    assert client.get(f"/p/{product.id}").status_code == 404
    assert client.get("/p/999999").status_code == 404


def test_product_page_links_its_batches_traceability_pages(app, en, unit, make_product):
    from ktt_market.catalog.models import Batch
    from ktt_market.extensions import db

    product = make_product(unit, name="Mật ong hoa nhãn")
    with app.app_context():
        db.session.add(
            Batch(product_id=product.id, code="LO-2025-07", produced_on=dt.date(2025, 7, 1), public_token="t0k3n")
        )
        db.session.commit()

    html = page(en.get(f"/p/{product.id}"))

    if "trace.page" in app.view_functions:
        from flask import url_for

        with app.test_request_context():
            link = url_for("trace.page", public_token="t0k3n")
        assert f'href="{link}"' in html and "LO-2025-07" in html and "01/07/2025" in html
    else:
        assert "LO-2025-07" not in html


def test_product_page_shows_visible_reviews_with_replies(app, en, unit, make_product, make_user, make_order):
    from ktt_market.core.models import utcnow
    from ktt_market.extensions import db
    from ktt_market.orders.models import Review

    pomelo = make_product(unit, name="Bưởi da xanh", rating_avg=5.0, rating_count=1)
    with app.app_context():
        for text, hidden in (("Múi mọng, rất ngọt", False), ("Nội dung đã bị ẩn", True)):
            buyer = make_user()
            bought = make_order(unit, buyer, [(pomelo, 1)])
            db.session.add(
                Review(
                    order_line_id=bought.line_ids[0],
                    product_id=pomelo.id,
                    unit_id=unit.id,
                    buyer_id=buyer.id,
                    product_rating=5,
                    unit_rating=5,
                    text=text,
                    reply="Cảm ơn anh chị!" if not hidden else None,
                    replied_at=utcnow(),
                    hidden_at=utcnow() if hidden else None,
                )
            )
        db.session.commit()

    html = page(en.get(f"/p/{pomelo.id}"))

    assert "Múi mọng, rất ngọt" in html and "Cảm ơn anh chị!" in html
    assert "Nội dung đã bị ẩn" not in html
