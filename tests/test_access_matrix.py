"""The access matrix, generated from the application's URL map so that no route escapes it.

Every route is either listed as public or must turn away a visitor who is not logged in; every route
that names an object (a unit, a member, an application, ...) is tried by each role that has no
business with that object, with GET and with a real CSRF-protected POST, and must answer 403 or 404
and change nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token

pytestmark = pytest.mark.core

# Routes anyone may open.
PUBLIC = {
    "static",
    "core.home",
    "core.health",
    "core.set_language",
    "accounts.login",
    "accounts.register",
    "accounts.reset_request",
    "accounts.reset_password",
    # the shop window: visitors browse, search, fill a cart and check traceability
    "catalog.search_page",
    "catalog.category",
    "catalog.store",
    "catalog.product",
    "reviews.product",
    "orders.cart",
    "orders.cart_add",
    "orders.cart_update",
    "orders.cart_remove",
    "media.file",
    "trace.page",
    "trace.qr",
    # Stripe's calls: authenticated by their signature, not a login (tests/payments/test_webhooks.py)
    "payments_webhooks.stripe_webhook",
}

# Routes open to every logged-in user on any object they can see (a report is a request to the officers).
OPEN_TO_USERS = {"reviews.report"}

# URL arguments that name something belonging to unit A or its buyer.
OBJECT_ARGUMENTS = {
    "unit_id",
    "member_id",
    "application_id",
    "product_id",
    "image_id",
    "certification_id",
    "batch_id",
    "order_id",
    "number",
    "line_id",
    "review_id",
    "export_id",
    "notification_id",
    "message_id",
    "assessment_id",
    "program_id",
    "document_id",
}

DENIED = {403, 404}


@pytest.fixture
def world(app, make_user, make_unit, make_staff, make_product, make_order):
    """Unit A (Vĩnh Long) with its owner, a member, an application, a product (image, certificate, batch), an
    order by a customer with a review; and outsiders."""
    from ktt_market.accounts.models import Role
    from ktt_market.catalog.models import Batch, Certification, CertificationKind, ProductImage
    from ktt_market.core.models import utcnow
    from ktt_market.exports.models import ExportJob, ExportStatus
    from ktt_market.extensions import db
    from ktt_market.members.models import CapitalEntry, CapitalEntryKind, Member
    from ktt_market.notifications.models import Notification, OutboxMessage, OutboxStatus
    from ktt_market.orders.models import Review
    from ktt_market.registry.models import ApplicationKind, UnitApplication

    unit_a = make_unit(name="HTX A")
    unit_b = make_unit(name="HTX B")  # same province, other staff
    owner_a = make_staff(unit_a)
    applicant = make_user()
    customer = make_user()  # unit A's buyer
    product = make_product(unit_a, name="Bưởi da xanh")
    bought = make_order(unit_a, customer, [(product, 2)])
    with app.app_context():
        member = Member(unit_id=unit_a.id, code="TV0001", full_name="Nguyễn Văn A", joined_on=dt.date(2021, 1, 1))
        db.session.add(member)
        db.session.flush()
        db.session.add(
            CapitalEntry(
                unit_id=unit_a.id,
                member_id=member.id,
                kind=CapitalEntryKind.CONTRIBUTED,
                amount_vnd=5_000_000,
                entry_date=dt.date(2021, 1, 1),
            )
        )
        application = UnitApplication(unit_id=unit_a.id, applicant_id=applicant.id, kind=ApplicationKind.CLAIM)
        image = ProductImage(
            product_id=product.id, key="a" * 32 + ".webp", thumb_key="b" * 32 + ".webp", width=10, height=10
        )
        certification = Certification(
            product_id=product.id,
            kind=CertificationKind.VIETGAP,
            number="VG-1",
            issued_on=dt.date(2026, 1, 1),
            valid_until=dt.date(2027, 12, 31),
        )
        batch = Batch(product_id=product.id, code="L1", produced_on=dt.date(2026, 10, 1), public_token="t" * 22)
        review = Review(
            order_line_id=bought.line_ids[0],
            product_id=product.id,
            unit_id=unit_a.id,
            buyer_id=customer.id,
            product_rating=5,
            unit_rating=5,
            text="Ngon",
        )
        notification = Notification(user_id=customer.id, kind="order_confirmed", title="Đơn đã xác nhận", body="")
        message = OutboxMessage(
            key=f"order_confirmed:order-{bought.order_id}:{customer.id}:email",
            channel="email",
            user_id=customer.id,
            recipient=customer.email,
            kind="order_confirmed",
            locale="vi",
            payload={},
            status=OutboxStatus.FAILED,
            attempts=8,
        )
        export = ExportJob(
            user_id=owner_a.id,
            kind="members",
            params={"unit_id": unit_a.id},
            status=ExportStatus.DONE,
            filename="thanh-vien.xlsx",
            storage_key="1-0123456789abcdef.xlsx",
            expires_at=utcnow(),
        )
        from ktt_market.classification.models import Assessment

        assessment = Assessment(unit_id=unit_a.id, year=2025, rubric_id=1)
        from ktt_market.programs.models import (
            ApplicationDocument,
            FundingSource,
            ProgramApplication,
            ProgramKind,
            ProgramStatus,
            SupportProgram,
        )

        program = SupportProgram(
            province_code=unit_a.province_code,
            year=2026,
            kind=ProgramKind.TRAINING,
            title="Tập huấn thương mại điện tử",
            funding_source=FundingSource.LOCAL,
            opens_on=dt.date(2026, 1, 1),
            closes_on=dt.date(2026, 12, 31),
            status=ProgramStatus.OPEN,
        )
        # Registry applications and program applications share the URL name `application_id`: each route is
        # given the id of an object of its own kind (see _url).
        program_application = ProgramApplication(program=program, unit_id=unit_a.id)
        document = ApplicationDocument(
            application=program_application,
            storage_key="programs/1-0123456789abcdef.pdf",
            filename="ho-so.pdf",
            content_type="application/pdf",
            size_bytes=10,
        )
        db.session.add_all(
            [application, image, certification, batch, review, notification, message, export, assessment]
        )
        db.session.add_all([program, program_application, document])
        db.session.commit()
        ids = {
            "unit_id": unit_a.id,
            "member_id": member.id,
            "application_id": application.id,
            "user_id": owner_a.id,
            "token": "0" * 32,
            "product_id": product.id,
            "image_id": image.id,
            "certification_id": certification.id,
            "batch_id": batch.id,
            "public_token": batch.public_token,
            "key": image.key,
            "order_id": bought.order_id,
            "number": bought.number,
            "line_id": bought.line_ids[0],
            "review_id": review.id,
            "export_id": export.id,
            "notification_id": notification.id,
            "message_id": message.id,
            "slug": "trai-cay",
            "category_id": 2,
            "by": "week",
            "assessment_id": assessment.id,
            "rubric_id": 1,
            "year": 2025,
            "program_id": program.id,
            "document_id": document.id,
            "programs.application_id": program_application.id,
        }
    return {
        "ids": ids,
        "buyer": make_user(),
        "staff_of_b": make_staff(unit_b),
        "officer_elsewhere": make_user(role=Role.OFFICER, province_code=79),  # Hồ Chí Minh City
    }


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        yield rule


def _url(rule, ids):
    unknown = set(rule.arguments) - set(ids)
    assert not unknown, f"{rule.rule}: add {unknown} to the access matrix's objects"
    # An argument name one blueprint gives another meaning has its own entry, "<blueprint>.<name>".
    blueprint = rule.endpoint.rsplit(".", 1)[0]
    values = {k: ids.get(f"{blueprint}.{k}", ids[k]) for k in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _fingerprint(app):
    """Row counts of every table and the last change of every unit: what a denied request must not move."""
    from ktt_market.extensions import db
    from ktt_market.registry.models import Unit

    with app.app_context():
        counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        stamps = tuple(db.session.execute(select(Unit.id, Unit.updated_at, Unit.platform_status).order_by(Unit.id)))
        db.session.remove()
    return counts, stamps


def test_every_private_route_sends_visitors_to_login(app, client, world):
    failures = []
    for rule in _routes(app):
        url = _url(rule, world["ids"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": csrf_token(client)} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            if not (response.status_code == 302 and "/account/login" in response.location):
                failures.append(f"{method} {url} -> {response.status_code}")
    assert not failures, "reachable without logging in:\n" + "\n".join(failures)


@pytest.mark.parametrize("actor", ["buyer", "staff_of_b", "officer_elsewhere"])
def test_outsiders_cannot_reach_another_units_objects(app, client, world, login, actor):
    login(client, world[actor])
    token = csrf_token(client)
    before = _fingerprint(app)
    failures, checked = [], 0
    for rule in _routes(app):
        if rule.endpoint in OPEN_TO_USERS or not set(rule.arguments) & OBJECT_ARGUMENTS:
            continue
        url = _url(rule, world["ids"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token, "reason": "x", "full_name": "x", "email": "x@example.vn"}
            response = client.open(url, method=method, data=data if method == "POST" else None)
            checked += 1
            if response.status_code not in DENIED:
                failures.append(f"{method} {url} -> {response.status_code}")
    assert checked > 20
    assert not failures, f"{actor} reached objects of another unit:\n" + "\n".join(failures)
    assert _fingerprint(app) == before, f"a refused request by {actor} changed data"


def test_every_post_route_requires_csrf(app, world, login, make_user):
    """A state-changing request without the CSRF token is refused, whoever sends it."""
    from ktt_market.accounts.models import Role

    client = app.test_client()
    login(client, make_user(role=Role.ADMIN))
    before = _fingerprint(app)
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = _url(rule, world["ids"])
        response = client.post(url, data={"reason": "x", "lang": "en"})
        if response.status_code != 400:
            failures.append(f"POST {url} -> {response.status_code}")
    assert not failures, "accepted without CSRF token:\n" + "\n".join(failures)
    assert _fingerprint(app) == before
