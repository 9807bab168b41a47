"""Registry verbs: register, claim, decide, edit, staff; and a unit's state over time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ktt_market.core.errors import PermissionDenied, ServiceError
from ktt_market.extensions import db
from ktt_market.registry import services
from ktt_market.registry.models import (
    ApplicationKind,
    ApplicationStatus,
    OperatingState,
    PlatformStatus,
    StaffRole,
    Unit,
    UnitApplication,
    UnitStaff,
)

from .conftest import OTHER_PROVINCE, OTHER_WARD, PROVINCE, WARD

pytestmark = pytest.mark.core


def unit_data(**overrides):
    data = {
        "kind": "HTX",
        "registration_code": " htx-001 ",
        "name": "  Hợp tác xã   Bưởi Da Xanh ",
        "sector": "agriculture",
        "founded_on": dt.date(2020, 5, 1),
        "ward_code": WARD,
        "province_code": PROVINCE,
        "street": "12 Nguyễn Đáng",
        "declared_members": 25,
        "charter_capital_vnd": 1_500_000_000,
        "contact_phone": "+84 912 345 678",
        "message": "Xin tham gia",
    }
    data.update(overrides)
    return data


def error_of(call) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


# ---------------------------------------------------------------- register


def test_register_creates_a_pending_unit_and_application(ctx, buyer):
    application = services.register_unit(actor=buyer, data=unit_data())
    unit = application.unit
    assert application.kind is ApplicationKind.REGISTER
    assert application.status is ApplicationStatus.PENDING
    assert application.applicant_id == buyer.id
    assert application.message == "Xin tham gia"
    assert unit.platform_status is PlatformStatus.PENDING
    assert unit.registration_code == "HTX-001"
    assert unit.name == "Hợp tác xã Bưởi Da Xanh"
    assert unit.province_code == PROVINCE
    assert unit.contact_phone == "0912345678"
    assert unit.charter_capital_vnd == 1_500_000_000


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ward_code": 99999999}, "ward_code"),
        ({"ward_code": OTHER_WARD}, "ward_code"),  # not in the chosen province
        ({"declared_members": -1}, "declared_members"),
        ({"charter_capital_vnd": -5}, "charter_capital_vnd"),
        ({"founded_on": dt.date.today() + dt.timedelta(days=3)}, "founded_on"),
        ({"founded_on": None}, "founded_on"),
        ({"name": "   "}, "name"),
        ({"kind": "XYZ"}, "kind"),
        ({"sector": "mining"}, "sector"),
        ({"contact_phone": "123"}, "contact_phone"),
        ({"registration_code": "x" * 41}, "registration_code"),
    ],
)
def test_register_refuses_bad_data(ctx, buyer, overrides, field):
    error = error_of(lambda: services.register_unit(actor=buyer, data=unit_data(**overrides)))
    assert error.field == field
    assert db.session.scalar(select(Unit).where(Unit.registration_code == "HTX-001")) is None


def test_register_refuses_a_code_already_in_the_registry(ctx, buyer, make_unit):
    make_unit(registration_code="HTX-001")
    error = error_of(lambda: services.register_unit(actor=buyer, data=unit_data(registration_code="htx-001")))
    assert error.field == "registration_code"


def test_register_derives_the_province_from_the_ward(ctx, buyer):
    data = unit_data(ward_code=OTHER_WARD)
    del data["province_code"]
    application = services.register_unit(actor=buyer, data=data)
    assert application.unit.province_code == OTHER_PROVINCE


# ---------------------------------------------------------------- claim


def test_claim_of_a_registry_unit(ctx, buyer, make_unit):
    unit = make_unit(registration_code="QT-9", platform_status=PlatformStatus.NOT_JOINED)
    application = services.claim_unit(actor=buyer, registration_code=" qt-9 ", message="Tôi là giám đốc")
    assert application.kind is ApplicationKind.CLAIM
    assert application.unit_id == unit.id
    assert db.session.get(Unit, unit.id).platform_status is PlatformStatus.PENDING


def test_claim_refuses_unknown_code(ctx, buyer):
    error = error_of(lambda: services.claim_unit(actor=buyer, registration_code="NOPE"))
    assert error.field == "registration_code"


def test_claim_refuses_an_approved_unit(ctx, buyer, make_unit):
    make_unit(registration_code="A-1", platform_status=PlatformStatus.APPROVED)
    error_of(lambda: services.claim_unit(actor=buyer, registration_code="A-1"))


def test_claim_refuses_a_unit_with_an_owner(ctx, buyer, make_unit, make_staff):
    unit = make_unit(registration_code="A-2", platform_status=PlatformStatus.NOT_JOINED)
    make_staff(unit)
    error_of(lambda: services.claim_unit(actor=buyer, registration_code="A-2"))


def test_claim_refuses_when_anyone_has_a_pending_application(ctx, make_user, make_unit):
    make_unit(registration_code="A-3", platform_status=PlatformStatus.NOT_JOINED)
    first, second = make_user(), make_user()
    services.claim_unit(actor=first, registration_code="A-3")
    db.session.commit()
    error = error_of(lambda: services.claim_unit(actor=second, registration_code="A-3"))
    assert "waiting" in error.message
    error_of(lambda: services.claim_unit(actor=first, registration_code="A-3"))


def test_a_rejected_claim_frees_the_unit_for_a_new_claim(ctx, officer, make_user, make_unit):
    unit = make_unit(registration_code="A-4", platform_status=PlatformStatus.NOT_JOINED)
    first, second = make_user(), make_user()
    application = services.claim_unit(actor=first, registration_code="A-4")
    services.reject_application(application, actor=officer, reason="Không có giấy ủy quyền")
    assert db.session.get(Unit, unit.id).platform_status is PlatformStatus.NOT_JOINED
    again = services.claim_unit(actor=second, registration_code="A-4")
    assert again.status is ApplicationStatus.PENDING


# ---------------------------------------------------------------- decisions


def test_approve_makes_the_applicant_owner(ctx, buyer, officer):
    application = services.register_unit(actor=buyer, data=unit_data())
    services.approve_application(application, actor=officer)
    unit = application.unit
    assert application.status is ApplicationStatus.APPROVED
    assert application.decided_by_id == officer.id
    assert application.decided_at is not None
    assert unit.platform_status is PlatformStatus.APPROVED
    assert unit.approved_at is not None
    link = db.session.scalar(select(UnitStaff).where(UnitStaff.unit_id == unit.id))
    assert (link.user_id, link.role) == (buyer.id, StaffRole.OWNER)


def test_admin_may_decide_any_province(ctx, buyer, admin):
    application = services.register_unit(actor=buyer, data=unit_data(ward_code=OTHER_WARD, province_code=None))
    services.approve_application(application, actor=admin)
    assert application.unit.platform_status is PlatformStatus.APPROVED


def test_officer_of_another_province_may_not_decide(ctx, buyer, other_officer):
    application = services.register_unit(actor=buyer, data=unit_data())
    with pytest.raises(PermissionDenied):
        services.approve_application(application, actor=other_officer)
    with pytest.raises(PermissionDenied):
        services.reject_application(application, actor=other_officer, reason="x")
    assert application.status is ApplicationStatus.PENDING


def test_a_buyer_may_not_decide(ctx, buyer, make_user):
    other_buyer = make_user()
    application = services.register_unit(actor=buyer, data=unit_data())
    with pytest.raises(PermissionDenied):
        services.approve_application(application, actor=other_buyer)


def test_reject_needs_a_reason_and_marks_the_registration_rejected(ctx, buyer, officer):
    application = services.register_unit(actor=buyer, data=unit_data())
    error = error_of(lambda: services.reject_application(application, actor=officer, reason="  "))
    assert error.field == "reason"
    assert application.status is ApplicationStatus.PENDING
    services.reject_application(application, actor=officer, reason="Mã đăng ký không đúng")
    assert application.status is ApplicationStatus.REJECTED
    assert application.decision_reason == "Mã đăng ký không đúng"
    assert application.unit.platform_status is PlatformStatus.REJECTED
    assert db.session.scalar(select(UnitStaff)) is None


def test_deciding_twice_is_refused(ctx, buyer, officer):
    application = services.register_unit(actor=buyer, data=unit_data())
    services.approve_application(application, actor=officer)
    error_of(lambda: services.approve_application(application, actor=officer))
    error_of(lambda: services.reject_application(application, actor=officer, reason="late"))
    assert application.status is ApplicationStatus.APPROVED
    assert application.unit.platform_status is PlatformStatus.APPROVED


# ---------------------------------------------------------------- editing


def test_officer_edits_every_registry_field(ctx, officer, make_unit):
    unit = db.session.get(Unit, make_unit().id)
    services.update_unit(
        unit,
        actor=officer,
        data={"name": "HTX Mới", "stopped_on": dt.date(2024, 1, 1), "declared_members": 40, "ward_code": WARD},
    )
    assert (unit.name, unit.stopped_on, unit.declared_members) == ("HTX Mới", dt.date(2024, 1, 1), 40)


def test_officer_cannot_move_a_unit_out_of_the_province(ctx, officer, make_unit):
    unit = db.session.get(Unit, make_unit().id)
    error = error_of(lambda: services.update_unit(unit, actor=officer, data={"ward_code": OTHER_WARD}))
    assert error.field == "ward_code"


def test_edit_refuses_dates_out_of_order(ctx, officer, make_unit):
    unit = db.session.get(Unit, make_unit(founded_on=dt.date(2020, 1, 1)).id)
    error = error_of(lambda: services.update_unit(unit, actor=officer, data={"dissolved_on": dt.date(2019, 1, 1)}))
    assert error.field == "dissolved_on"
    error = error_of(lambda: services.update_unit(unit, actor=officer, data={"stopped_on": dt.date(2019, 12, 31)}))
    assert error.field == "stopped_on"
    assert unit.dissolved_on is None and unit.stopped_on is None


def test_owner_edits_only_contact_fields(ctx, make_unit, make_staff):
    unit = db.session.get(Unit, make_unit().id)
    owner = make_staff(unit)
    services.update_unit(unit, actor=owner, data={"contact_name": "Chị Lan", "description": "Bưởi\nsạch"})
    assert unit.contact_name == "Chị Lan"
    assert unit.description == "Bưởi\nsạch"
    with pytest.raises(PermissionDenied):
        services.update_unit(unit, actor=owner, data={"name": "Tên khác"})


def test_staff_and_strangers_cannot_edit(ctx, make_unit, make_staff, make_user, other_officer):
    unit = db.session.get(Unit, make_unit().id)
    staff = make_staff(unit, role=StaffRole.STAFF)
    for actor in (staff, make_user(), other_officer):
        with pytest.raises(PermissionDenied):
            services.update_unit(unit, actor=actor, data={"contact_name": "x"})


# ---------------------------------------------------------------- staff


def test_owner_adds_and_removes_staff(ctx, make_unit, make_staff, make_user):
    unit = db.session.get(Unit, make_unit().id)
    owner = make_staff(unit)
    helper = make_user(email="helper@example.vn")
    services.add_staff(unit, actor=owner, email="HELPER@example.vn", role="staff")
    assert {(s.user_id, s.role) for s in services.staff_of(unit)} == {
        (owner.id, StaffRole.OWNER),
        (helper.id, StaffRole.STAFF),
    }
    assert error_of(lambda: services.add_staff(unit, actor=owner, email="helper@example.vn")).field == "email"
    assert error_of(lambda: services.add_staff(unit, actor=owner, email="nobody@example.vn")).field == "email"
    services.remove_staff(unit, actor=owner, user_id=helper.id)
    assert [s.user_id for s in services.staff_of(unit)] == [owner.id]


def test_the_last_owner_stays_and_staff_cannot_manage(ctx, make_unit, make_staff, make_user):
    unit = db.session.get(Unit, make_unit().id)
    owner = make_staff(unit)
    staff = make_staff(unit, role=StaffRole.STAFF)
    error_of(lambda: services.remove_staff(unit, actor=owner, user_id=owner.id))
    with pytest.raises(PermissionDenied):
        services.add_staff(unit, actor=staff, email=make_user().email)
    with pytest.raises(PermissionDenied):
        services.remove_staff(unit, actor=staff, user_id=owner.id)


def test_members_shown_is_the_declared_count_without_a_register(ctx, make_unit):
    unit = db.session.get(Unit, make_unit(declared_members=17).id)
    assert services.members_shown(unit) == 17
    assert services.members_shown_many([unit]) == {unit.id: 17}


# ---------------------------------------------------------------- state over time

D = dt.date


@pytest.mark.parametrize(
    ("founded", "stopped", "dissolved", "day", "state", "exists"),
    [
        (None, None, None, D(2024, 1, 1), OperatingState.NOT_FOUNDED, False),
        (D(2024, 1, 2), None, None, D(2024, 1, 1), OperatingState.NOT_FOUNDED, False),
        (D(2024, 1, 1), None, None, D(2024, 1, 1), OperatingState.ACTIVE, True),  # founding day counts
        (D(2020, 1, 1), D(2023, 6, 1), None, D(2023, 5, 31), OperatingState.ACTIVE, True),
        (D(2020, 1, 1), D(2023, 6, 1), None, D(2023, 6, 1), OperatingState.STOPPED, True),
        (D(2020, 1, 1), D(2023, 6, 1), D(2024, 1, 1), D(2023, 12, 31), OperatingState.STOPPED, True),
        (D(2020, 1, 1), D(2023, 6, 1), D(2024, 1, 1), D(2024, 1, 1), OperatingState.DISSOLVED, False),
        (D(2020, 1, 1), None, D(2020, 1, 1), D(2020, 1, 1), OperatingState.DISSOLVED, False),  # same day
    ],
)
def test_state_on_and_exists_on(founded, stopped, dissolved, day, state, exists):
    unit = Unit(founded_on=founded, stopped_on=stopped, dissolved_on=dissolved)
    assert unit.state_on(day) is state
    assert unit.exists_on(day) is exists


@pytest.mark.parametrize("state", list(OperatingState))
def test_state_filter_matches_state_on(ctx, make_unit, state):
    today = D(2024, 6, 1)
    units = [
        make_unit(founded_on=None),
        make_unit(founded_on=D(2025, 1, 1)),
        make_unit(founded_on=D(2020, 1, 1)),
        make_unit(founded_on=D(2020, 1, 1), stopped_on=D(2024, 6, 1)),
        make_unit(founded_on=D(2020, 1, 1), stopped_on=D(2024, 6, 2)),
        make_unit(founded_on=D(2020, 1, 1), stopped_on=D(2022, 1, 1), dissolved_on=D(2024, 6, 1)),
    ]
    expected = {u.id for u in units if u.state_on(today) is state}
    found = {u.id for u in db.session.scalars(services.unit_search(province_code=PROVINCE, state=state, today=today))}
    assert found == expected


def test_application_queue_lists_pending_first_in_scope(ctx, buyer, officer, make_user):
    first = services.register_unit(actor=buyer, data=unit_data(registration_code="P-1"))
    decided = services.register_unit(actor=buyer, data=unit_data(registration_code="P-2"))
    services.approve_application(decided, actor=officer)
    elsewhere = unit_data(registration_code="P-3", ward_code=OTHER_WARD, province_code=None)
    services.register_unit(actor=buyer, data=elsewhere)
    queue = list(db.session.scalars(services.application_queue(PROVINCE)))
    assert [a.id for a in queue] == [first.id, decided.id]
    assert len(list(db.session.scalars(services.application_queue(None)))) == 3
    stored = db.session.scalar(select(UnitApplication).where(UnitApplication.id == first.id))
    assert stored.status is ApplicationStatus.PENDING
