import pytest

pytestmark = pytest.mark.core


def test_unit_page_leads_to_its_member_register(client, make_unit, make_staff, login):
    unit = make_unit()
    login(client, make_staff(unit))
    page = client.get(f"/registry/units/{unit.id}").get_data(as_text=True)
    assert f'href="/members/units/{unit.id}/"' in page
