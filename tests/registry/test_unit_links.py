import pytest

pytestmark = pytest.mark.core


def test_unit_page_leads_to_its_member_register(client, make_unit, make_staff, login):
    unit = make_unit()
    login(client, make_staff(unit))
    page = client.get(f"/registry/units/{unit.id}").get_data(as_text=True)
    assert f'href="/members/units/{unit.id}/"' in page


def test_each_page_of_a_unit_leads_back_to_the_unit_page(client, make_unit, make_staff, make_product, login):
    """From orders, reviews, sales, statement, members and products, the unit's page is one click away."""
    from flask import url_for

    unit = make_unit()
    product = make_product(unit)
    login(client, make_staff(unit))
    with client.application.test_request_context():
        pages = [
            url_for("orders.incoming", unit_id=unit.id),
            url_for("reviews.unit", unit_id=unit.id),
            url_for("sales.unit", unit_id=unit.id),
            url_for("ledger.statement", unit_id=unit.id),
            url_for("members.register", unit_id=unit.id),
            url_for("catalog_manage.products", unit_id=unit.id),
            url_for("catalog_manage.images", product_id=product.id),
        ]
        home = url_for("registry.unit", unit_id=unit.id)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert f'href="{home}"' in response.get_data(as_text=True), path
