"""Reviews fixtures: orders built straight from the models (not through checkout), English-reading users."""

from __future__ import annotations

import pytest

from ktt_market.core import places

PROVINCE = 86  # Vĩnh Long: the factory's units are here
OTHER_PROVINCE = 79  # Thành phố Hồ Chí Minh
FAR_WARD = next(iter(places.wards_of(OTHER_PROVINCE)))


@pytest.fixture
def make_user(make_user):
    """Users who read English: tests assert messages in English, which keep holding once Vietnamese is filled in."""

    def make(role="buyer", province_code=None, **fields):
        fields.setdefault("locale", "en")
        return make_user(role, province_code, **fields)

    return make


@pytest.fixture(autouse=True)
def _english_services(request):
    """Run service calls (the `ctx` fixture) in English, for the same reason."""
    if "ctx" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


@pytest.fixture
def unit(make_unit):
    return make_unit(name="HTX Bưởi Da Xanh")


@pytest.fixture
def owner(make_user, make_staff, unit):
    return make_staff(unit, make_user())


@pytest.fixture
def product(make_product, unit):
    return make_product(unit, name="Bưởi da xanh")


@pytest.fixture
def buyer(make_user):
    return make_user(full_name="Nguyễn Văn An")


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=PROVINCE)


@pytest.fixture
def other_officer(make_user):
    return make_user("officer", province_code=OTHER_PROVINCE)


@pytest.fixture
def delivered(make_order, unit, buyer, product):
    """A delivered order of two kilos of the product."""
    return make_order(unit, buyer, [(product, 2)])
