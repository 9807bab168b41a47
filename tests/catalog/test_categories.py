"""The category tree, managed by platform admins."""

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.fixture
def admin_client(app, client, make_user, login):
    return login(client, make_user("admin", locale="en"))


def category_count(app):
    from ktt_market.catalog.models import Category
    from ktt_market.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Category))


def test_admin_adds_a_category_under_a_parent(app, admin_client):
    before = category_count(app)
    response = post_form(
        admin_client, "/manage/categories",
        {"name_vi": "Bưởi da xanh", "name_en": "Green-skin pomelo", "slug": "buoi-da-xanh", "parent_id": "8"},
    )  # fmt: skip
    assert response.status_code == 302
    assert category_count(app) == before + 1
    page = admin_client.get("/manage/categories").get_data(as_text=True)
    assert "— — Green-skin pomelo" in page  # fruit > pomelo > green-skin pomelo


@pytest.mark.parametrize(
    ("slug", "message"),
    [("Bưởi Xanh", "Use lower-case letters"), ("trai-cay", "already uses this address")],
)
def test_bad_category_is_refused_beside_its_field(app, admin_client, slug, message):
    before = category_count(app)
    response = post_form(admin_client, "/manage/categories", {"name_vi": "Mới", "name_en": "New", "slug": slug})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert category_count(app) == before


def test_a_category_cannot_move_under_its_own_child(app, admin_client):
    response = post_form(
        admin_client, "/manage/categories/2",
        {"name_vi": "Trái cây", "name_en": "Fruit", "slug": "trai-cay", "parent_id": "8"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "cannot be placed under itself" in response.get_data(as_text=True)


def test_renaming_a_category_lets_search_find_its_products_by_the_new_name(app, admin_client, make_unit, make_product):
    from ktt_market.catalog.models import Category, Product
    from ktt_market.catalog.services import refresh_search_fields
    from ktt_market.extensions import db

    # A category of the test's own: the seeded tree is shared by the whole session.
    post_form(admin_client, "/manage/categories", {"name_vi": "Bưởi Năm Roi", "name_en": "Nam Roi", "slug": "nam-roi"})
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.slug == "nam-roi"))
    product = make_product(make_unit(), name="Năm Roi loại 1", category_id=category_id)
    with app.app_context():
        refresh_search_fields(db.session.get(Product, product.id))
        db.session.commit()
    response = post_form(
        admin_client, f"/manage/categories/{category_id}",
        {"name_vi": "Bưởi đặc sản", "name_en": "Speciality pomelo", "slug": "nam-roi", "parent_id": "2"},
    )  # fmt: skip
    assert response.status_code == 302
    results = admin_client.get("/search?q=buoi+dac+san").get_data(as_text=True)
    assert "Năm Roi loại 1" in results


@pytest.mark.parametrize("role", ["buyer", "officer"])
def test_only_admins_manage_categories(app, client, make_user, login, role):
    login(client, make_user(role))
    before = category_count(app)
    assert client.get("/manage/categories").status_code == 403
    response = post_form(client, "/manage/categories", {"name_vi": "X", "name_en": "X", "slug": "x"})
    assert response.status_code == 403
    assert category_count(app) == before
