"""Every officer's and admin's action writes its audit event, in the transaction of the change."""

from __future__ import annotations

import pytest

from ktt_market.accounts.models import User
from ktt_market.extensions import db
from ktt_market.registry.models import ApplicationKind, ApplicationStatus, PlatformStatus, Unit, UnitApplication
from tests.conftest import post_form

from .conftest import OTHER_WARD, PROVINCE, WARD

pytestmark = pytest.mark.core


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


@pytest.fixture
def claimed(app, make_unit, make_user):
    """A claim on a unit of Vĩnh Long, waiting for an officer."""
    unit = make_unit(registration_code="CL-1", name="HTX Dừa Sáp", platform_status=PlatformStatus.PENDING)
    applicant = make_user()
    with app.app_context():
        application = UnitApplication(
            unit_id=unit.id, applicant_id=applicant.id, kind=ApplicationKind.CLAIM, status=ApplicationStatus.PENDING
        )
        db.session.add(application)
        db.session.commit()
        return application.id, unit.id


# ---------------------------------------------------------------- registry


def test_approving_an_application(client, login, officer, claimed, events):
    application_id, _ = claimed
    login(client, officer)
    assert post_form(client, f"/registry/applications/{application_id}/approve").status_code == 302
    [event] = events("registry.application.approve")
    assert (event.actor_id, event.actor_role, event.province_code) == (officer.id, "officer", PROVINCE)
    assert (event.object_type, event.object_id) == ("unit_applications", str(application_id))
    assert event.before == {"status": "pending", "platform_status": "pending"}
    assert event.after == {"status": "approved", "platform_status": "approved"}
    assert "HTX Dừa Sáp" in event.summary


def test_rejecting_an_application_keeps_the_reason(client, login, officer, claimed, events):
    application_id, _ = claimed
    login(client, officer)
    response = post_form(client, f"/registry/applications/{application_id}/reject", {"reason": "Thiếu giấy tờ"})
    assert response.status_code == 302
    [event] = events("registry.application.reject")
    assert event.after["reason"] == "Thiếu giấy tờ" and event.after["status"] == "rejected"


def test_a_refused_decision_writes_nothing(client, login, officer, claimed, events):
    application_id, _ = claimed
    login(client, officer)
    assert post_form(client, f"/registry/applications/{application_id}/reject", {"reason": " "}).status_code == 422
    assert events() == []


def test_an_officer_editing_a_unit(app, ctx, make_unit, officer, events):
    from ktt_market.registry import services

    unit = db.session.get(Unit, make_unit(name="HTX Cũ", declared_members=10).id)
    services.update_unit(unit, actor=_user(officer.id), data={"name": "HTX Mới", "declared_members": 12})
    db.session.commit()
    [event] = events("registry.unit.update")
    assert event.before == {"name": "HTX Cũ", "declared_members": 10}
    assert event.after == {"name": "HTX Mới", "declared_members": 12}
    assert (event.actor_id, event.province_code) == (officer.id, PROVINCE)


def test_an_owner_editing_contact_details_is_not_an_officer_action(app, ctx, make_unit, make_staff, events):
    from ktt_market.registry import services

    unit = make_unit()
    owner = make_staff(unit)
    services.update_unit(db.session.get(Unit, unit.id), actor=_user(owner.id), data={"description": "Bưởi da xanh"})
    db.session.commit()
    assert events() == []


def test_a_rolled_back_edit_leaves_no_event(app, ctx, make_unit, officer, events):
    from ktt_market.registry import services

    unit = db.session.get(Unit, make_unit().id)
    services.update_unit(unit, actor=_user(officer.id), data={"name": "HTX Khác"})
    db.session.rollback()
    assert events() == []


def test_moving_a_unit_leaves_a_trace_in_both_provinces(app, ctx, make_unit, admin, events):
    from ktt_market.core import places
    from ktt_market.registry import services

    unit = db.session.get(Unit, make_unit(ward_code=WARD).id)
    services.update_unit(unit, actor=_user(admin.id), data={"ward_code": OTHER_WARD})
    db.session.commit()
    assert {e.province_code for e in events("registry.unit.update")} == {PROVINCE, places.ward_province(OTHER_WARD)}


def test_the_registry_import_from_the_command_line(app, runner, tmp_path, events):
    path = tmp_path / "registry.csv"
    path.write_text(
        "registration_code,name,kind,sector,founded_on,stopped_on,dissolved_on,ward_code,members,charter_capital_vnd\n"
        f"HTX-9,Hợp tác xã Chín,HTX,agriculture,2019-03-01,,,{WARD},12,250000000\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["registry", "import", str(path), "--province", str(PROVINCE), "--lang", "en"])
    assert result.exit_code == 0, result.output
    [event] = events("registry.import")
    assert (event.actor_id, event.actor_role, event.province_code) == (None, "cli", PROVINCE)
    assert event.after["created"] == 1 and event.after["codes"] == ["HTX-9"]
    assert "registry.csv" in event.summary


def test_a_refused_import_file_writes_no_event(app, runner, tmp_path, events):
    path = tmp_path / "registry.csv"
    path.write_text("registration_code,name\nX,Y\n", encoding="utf-8")
    assert runner.invoke(args=["registry", "import", str(path), "--lang", "en"]).exit_code == 1
    assert events() == []


# ---------------------------------------------------------------- reviews


@pytest.fixture
def reported(app, make_unit, make_user, make_product, make_order):
    from ktt_market.core.models import utcnow
    from ktt_market.orders.models import Review

    unit = make_unit(name="HTX Bưởi")
    product = make_product(unit)
    buyer = make_user()
    order = make_order(unit, buyer, [(product, 1)])
    with app.app_context():
        review = Review(
            order_line_id=order.line_ids[0],
            product_id=product.id,
            unit_id=unit.id,
            buyer_id=buyer.id,
            product_rating=1,
            unit_rating=1,
            text="Tệ",
            reported_at=utcnow(),
            report_reason="Lời lẽ xúc phạm",
        )
        db.session.add(review)
        db.session.commit()
        return review.id


def test_hiding_showing_again_and_dismissing_keep_their_reasons(app, ctx, officer, reported, events):
    from ktt_market.orders.models import Review
    from ktt_market.reviews import services

    review = db.session.get(Review, reported)
    services.hide_review(review, actor=_user(officer.id), reason="Xúc phạm")
    db.session.commit()
    services.unhide_review(review, actor=_user(officer.id), reason="Đã xem lại")
    db.session.commit()
    review.reported_at, review.report_reason = review.hidden_at or review.created_at, "Lại báo cáo"
    db.session.commit()
    services.dismiss_report(review, actor=_user(officer.id), reason="Không vi phạm")
    db.session.commit()
    hide, unhide, dismiss = events()
    assert (hide.action, hide.after) == ("reviews.review.hide", {"hidden": True, "reason": "Xúc phạm"})
    assert hide.before["report_reason"] == "Lời lẽ xúc phạm"
    assert (unhide.action, unhide.after) == ("reviews.review.unhide", {"hidden": False, "reason": "Đã xem lại"})
    assert unhide.before["hidden_reason"] == "Xúc phạm"
    assert (dismiss.action, dismiss.after["reason"]) == ("reviews.report.dismiss", "Không vi phạm")
    assert {e.province_code for e in (hide, unhide, dismiss)} == {PROVINCE}
    assert all(e.object_type == "reviews" and e.object_id == str(reported) for e in (hide, unhide, dismiss))


# ---------------------------------------------------------------- categories, messages, exports, accounts


def test_an_admin_adding_and_renaming_a_category(app, ctx, admin, events):
    from ktt_market.catalog.services import CategoryData, create_category, update_category

    category = create_category(actor=_user(admin.id), data=CategoryData("tra-thao-moc", "Trà thảo mộc", "Herbal tea"))
    db.session.commit()
    update_category(category, actor=_user(admin.id), data=CategoryData("tra-thao-moc", "Trà thảo mộc", "Herb tea"))
    db.session.commit()
    created, renamed = events()
    assert created.action == "catalog.category.create" and created.after["slug"] == "tra-thao-moc"
    assert created.province_code is None and created.actor_role == "admin"
    assert (renamed.before, renamed.after) == ({"name_en": "Herbal tea"}, {"name_en": "Herb tea"})


def test_an_admin_retrying_a_failed_message(app, ctx, admin, make_user, events):
    from ktt_market.notifications.models import Channel, OutboxMessage, OutboxStatus
    from ktt_market.notifications.services import retry_failed

    user = make_user()
    message = OutboxMessage(
        key="k-1",
        channel=Channel.EMAIL,
        user_id=user.id,
        recipient=user.email,
        kind="order_placed",
        payload={},
        status=OutboxStatus.FAILED,
        attempts=5,
        last_error="550 mailbox unavailable",
    )
    db.session.add(message)
    db.session.commit()
    retry_failed(message, actor=_user(admin.id))
    db.session.commit()
    [event] = events("notifications.message.retry")
    assert event.before == {"status": "failed", "attempts": 5, "last_error": "550 mailbox unavailable"}
    assert event.after == {"status": "pending", "attempts": 0}


def test_an_officer_requesting_an_export(app, ctx, officer, events):
    from ktt_market.exports.services import request_export

    job = request_export("registry", {"province": str(PROVINCE)}, actor=_user(officer.id))
    db.session.commit()
    [event] = events("exports.request")
    assert (event.object_type, event.object_id, event.province_code) == ("export_jobs", str(job.id), PROVINCE)
    assert event.after["export"] == "registry" and event.after["filters"]["province"] == PROVINCE


def test_creating_an_officer_from_the_command_line(app, runner, events):
    result = runner.invoke(
        args=[
            *("accounts", "create-user", "--email", "moi@vl.gov.vn", "--name", "Cán bộ Mới", "--role", "officer"),
            *("--province", str(PROVINCE), "--password", "mat-khau-dai-du-12"),
        ]
    )
    assert result.exit_code == 0, result.output
    [event] = events("accounts.user.create")
    assert (event.actor_role, event.province_code) == ("cli", PROVINCE)
    assert event.after == {
        "email": "moi@vl.gov.vn",
        "full_name": "Cán bộ Mới",
        "role": "officer",
        "province_code": PROVINCE,
    }
    assert "password_hash" not in str(event.after)
