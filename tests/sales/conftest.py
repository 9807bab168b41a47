"""Sales fixtures: a unit with an owner and products, and orders built straight from the models."""

from __future__ import annotations

import pytest

from tests.reviews import conftest as _reviews

# The reviews area's fixtures: orders built from the models, users and services in English.
make_user = _reviews.make_user
_english_services = _reviews._english_services


@pytest.fixture
def unit(make_unit):
    return make_unit(name="HTX Dừa Sáp")


@pytest.fixture
def owner(make_user, make_staff, unit):
    return make_staff(unit, make_user())


@pytest.fixture
def buyer(make_user):
    return make_user()
