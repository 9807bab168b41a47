"""Product services: validation, automatic codes, search fields, publishing, certificates and batches."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from ktt_market.catalog import services
from ktt_market.catalog.models import Certification, CertificationKind, Product
from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.core.text import fold
from ktt_market.extensions import db
from ktt_market.registry.models import PlatformStatus, Unit

pytestmark = pytest.mark.core

FRUIT, POMELO, RICE = 2, 8, 1  # seeded categories


@pytest.fixture
def english(ctx):
    with force_locale("en"):
        yield


@pytest.fixture
def unit(make_unit, english):
    return db.session.get(Unit, make_unit(name="Hợp tác xã Bưởi Giồng Trôm").id)


@pytest.fixture
def owner(make_staff, unit):
    return make_staff(unit)


def good(**fields) -> dict:
    values = {"name": "Bưởi da xanh", "category_id": POMELO, "price_vnd": 45_000, "stock": 20}
    values.update(fields)
    return values


def test_create_gives_automatic_codes_and_search_fields(unit, owner):
    first = services.create_product(unit, actor=owner, data=good())
    second = services.create_product(unit, actor=owner, data=good(name="Gạo ST25", category_id=RICE))
    own = services.create_product(unit, actor=owner, data=good(name="Mật ong", sku=" mo-01 "))
    assert (first.sku, second.sku, own.sku) == ("SP0001", "SP0002", "MO-01")
    assert services.create_product(unit, actor=owner, data=good(name="Xoài")).sku == "SP0003"
    # Name, unit and the category with its parents, in both languages, folded.
    assert first.search_text == fold("Bưởi da xanh Hợp tác xã Bưởi Giồng Trôm Bưởi Pomelo Trái cây Fruit")
    assert "buoi da xanh" in first.search_text and "pomelo" in first.search_text
    assert first.province_code == unit.province_code == 86
    assert first.published is False and first.min_quantity == 1 and first.quantity_step == 1


def test_search_fields_follow_changes(unit, owner):
    product = services.create_product(unit, actor=owner, data=good())
    services.update_product(product, actor=owner, data={"name": "Cà phê", "category_id": RICE})
    assert product.search_text.startswith("ca phe ")
    assert "gao rice" in product.search_text and "pomelo" not in product.search_text
    unit.name = "HTX Đổi Tên"
    services.refresh_search_fields(product)
    assert "htx doi ten" in product.search_text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"price_vnd": 0}, "price_vnd"),
        ({"price_vnd": -5}, "price_vnd"),
        ({"price_vnd": None}, "price_vnd"),
        ({"min_quantity": 0}, "min_quantity"),
        ({"quantity_step": 0}, "quantity_step"),
        ({"stock": -1}, "stock"),
        ({"category_id": 999}, "category_id"),
        ({"sale_unit": "tonne"}, "sale_unit"),
        ({"sku": "X" * 41}, "sku"),
    ],
)
def test_bad_data_is_refused_with_its_field(unit, owner, fields, field):
    with pytest.raises(ServiceError) as caught:
        services.create_product(unit, actor=owner, data=good(**fields))
    assert caught.value.field == field
    assert db.session.scalar(select(Product.id)) is None


def test_sku_is_unique_within_a_unit_only(unit, owner, make_unit, make_staff):
    # Factories commit in their own session: make everything before this session writes (SQLite locks).
    other = db.session.get(Unit, make_unit().id)
    other_owner = make_staff(other)
    services.create_product(unit, actor=owner, data=good(sku="B1"))
    with pytest.raises(ServiceError, match="already has the code B1") as caught:
        services.create_product(unit, actor=owner, data=good(sku="b1"))
    assert caught.value.field == "sku"
    assert services.create_product(other, actor=other_owner, data=good(sku="B1")).sku == "B1"


def test_update_keeps_its_own_code_and_refuses_another(unit, owner):
    first = services.create_product(unit, actor=owner, data=good(sku="A"))
    second = services.create_product(unit, actor=owner, data=good(sku="B"))
    services.update_product(first, actor=owner, data={"sku": "A", "price_vnd": 50_000})
    assert first.price_vnd == 50_000
    with pytest.raises(ServiceError):
        services.update_product(second, actor=owner, data={"sku": "A"})


def test_only_staff_of_the_unit_may_act(unit, owner, make_user):
    outsider = make_user()
    with pytest.raises(PermissionDenied):
        services.create_product(unit, actor=outsider, data=good())
    product = services.create_product(unit, actor=owner, data=good())
    with pytest.raises(PermissionDenied):
        services.adjust_stock(product, actor=outsider, stock=3)
    assert product.stock == 20


@pytest.mark.parametrize(
    "fields",
    [{"platform_status": PlatformStatus.PENDING}, {"dissolved_on": dt.date(2024, 1, 1)}],
)
def test_a_unit_that_may_not_sell_cannot_create_or_publish(make_unit, make_staff, english, fields):
    unit = db.session.get(Unit, make_unit().id)
    owner = make_staff(unit)
    product = services.create_product(unit, actor=owner, data=good())
    setattr(unit, *next(iter(fields.items())))
    with pytest.raises(ServiceError, match=r"approved|dissolved"):
        services.create_product(unit, actor=owner, data=good())
    with pytest.raises(ServiceError):
        services.set_published(product, actor=owner, published=True)
    with pytest.raises(ServiceError):
        services.update_product(product, actor=owner, data={"published": True})
    services.set_published(product, actor=owner, published=False)  # taking off sale always works
    assert product.published is False


def test_publish_and_stock(unit, owner):
    product = services.create_product(unit, actor=owner, data=good())
    services.set_published(product, actor=owner, published=True)
    assert product.published
    services.adjust_stock(product, actor=owner, stock=0)
    assert product.stock == 0
    for bad in (-1, "3", 1.5):
        with pytest.raises(ServiceError):
            services.adjust_stock(product, actor=owner, stock=bad)
    assert product.stock == 0


# ------------------------------------------------------------------ certifications


@pytest.fixture
def product(unit, owner):
    return services.create_product(unit, actor=owner, data=good())


def cert(kind="ocop", **fields) -> services.CertificationData:
    values = {"kind": kind, "number": "OCOP-86-0012", "issued_on": dt.date(2024, 2, 29), "stars": 4}
    values.update(fields)
    return services.CertificationData(**values)


def test_ocop_is_valid_36_months_by_default(product, owner):
    c = services.add_certification(product, actor=owner, data=cert())
    assert (c.kind, c.stars, c.valid_until) == (CertificationKind.OCOP, 4, dt.date(2027, 2, 28))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (cert(stars=None), "stars"),
        (cert(stars=6), "stars"),
        (cert(stars=2), "stars"),
        (cert(number=" "), "number"),
        (cert(issued_on=None), "issued_on"),
        (cert(valid_until=dt.date(2027, 3, 1)), "valid_until"),  # past 36 months
        (cert(valid_until=dt.date(2024, 2, 1)), "valid_until"),  # before issue
        (cert("vietgap", stars=None, valid_until=dt.date(2026, 3, 1)), "valid_until"),  # past 2 years
        (cert("organic", stars=None), "valid_until"),  # organic: end required
        (cert("other", stars=None, valid_until=dt.date(2025, 1, 1)), "name"),
        (cert("halal"), "kind"),
    ],
)
def test_bad_certificates_are_refused(product, owner, data, field):
    with pytest.raises(ServiceError) as caught:
        services.add_certification(product, actor=owner, data=data)
    assert caught.value.field == field
    assert db.session.scalar(select(Certification.id)) is None


def test_vietgap_organic_and_other(product, owner):
    vietgap = services.add_certification(product, actor=owner, data=cert("vietgap", stars=5))
    assert vietgap.valid_until == dt.date(2026, 2, 28) and vietgap.stars is None
    other = services.add_certification(
        product, actor=owner, data=cert("other", stars=None, name="Halal", valid_until=dt.date(2025, 6, 1))
    )
    assert other.name == "Halal"


def test_an_expired_certificate_no_longer_counts(product, owner):
    services.add_certification(product, actor=owner, data=cert(issued_on=dt.date(2021, 1, 10)))  # ends 2024-01-10
    services.add_certification(product, actor=owner, data=cert("vietgap", issued_on=dt.date(2024, 6, 1)))
    db.session.flush()
    day = dt.date(2025, 1, 1)
    assert [c.kind for c in services.valid_certifications(product, day)] == [CertificationKind.VIETGAP]
    assert services.ocop_stars(product, day) is None
    assert services.ocop_stars(product, dt.date(2023, 12, 31)) == 4

    def certified(kind, today):
        return list(db.session.scalars(select(Product.id).where(services.certified_filter(kind, today))))

    assert certified("ocop", day) == []
    assert certified("ocop", dt.date(2024, 1, 10)) == [product.id]  # the last day still counts
    assert certified("vietgap", day) == [product.id]
    assert certified(None, day) == [product.id]
    assert certified(None, dt.date(2026, 6, 2)) == []


def test_removing_a_certificate(product, owner):
    c = services.add_certification(product, actor=owner, data=cert())
    services.remove_certification(c, actor=owner)
    assert db.session.scalar(select(Certification.id)) is None


# ------------------------------------------------------------------ batches


def test_batches_have_unique_codes_and_unguessable_tokens(product, owner):
    data = services.BatchData(code="L-2025-01", produced_on=dt.date(2025, 5, 1), expires_on=dt.date(2025, 8, 1))
    first = services.add_batch(product, actor=owner, data=data)
    second = services.add_batch(product, actor=owner, data=services.BatchData("L-2025-02", dt.date(2025, 6, 1)))
    assert len(first.public_token) >= 20 and first.public_token != second.public_token
    assert services.batch_by_token(first.public_token) is first
    assert services.batch_by_token("nope") is None
    with pytest.raises(ServiceError, match="already has a batch") as caught:
        services.add_batch(product, actor=owner, data=data)
    assert caught.value.field == "code"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (services.BatchData(" ", dt.date(2025, 1, 1)), "code"),
        (services.BatchData("L1", None), "produced_on"),
        (services.BatchData("L1", dt.date(2025, 5, 1), dt.date(2025, 4, 30)), "expires_on"),
        (services.BatchData("L1", dt.date.today() + dt.timedelta(days=3)), "produced_on"),
    ],
)
def test_bad_batches_are_refused(product, owner, data, field):
    with pytest.raises(ServiceError) as caught:
        services.add_batch(product, actor=owner, data=data)
    assert caught.value.field == field


def test_add_months_keeps_the_day_or_the_end_of_month():
    assert services.add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert services.add_months(dt.date(2023, 11, 15), 36) == dt.date(2026, 11, 15)
