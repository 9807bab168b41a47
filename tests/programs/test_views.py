"""Officer pages: create, preview, open, decide, disburse, record outcomes, close; the reach figures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ktt_market.accounts.models import Role
from ktt_market.programs.models import ApplicationStatus, ProgramStatus
from ktt_market.registry.models import PlatformStatus, UnitKind
from tests.conftest import post_form

pytestmark = pytest.mark.core


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, province_code=86)


def load(app, model, ident):
    from ktt_market.extensions import db

    with app.app_context():
        obj = db.session.get(model, ident)
        db.session.expunge(obj)
    return obj


def program_form(today, **overrides):
    data = {
        "title": "Chuyển đổi số 2026",
        "kind": "digital_transformation",
        "description": "Hỗ trợ phần mềm kế toán",
        "year": str(today.year),
        "budget_vnd": "200.000.000",
        "funding_source": "central",
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=20)).isoformat(),
        "kinds": ["HTX"],
        "min_members": "",
    }
    data.update(overrides)
    return data


def test_officer_creates_a_draft_then_previews_and_opens_it(app, client, login, officer, make_unit, today):
    from ktt_market.extensions import db
    from ktt_market.programs.models import SupportProgram
    from ktt_market.programs.tasks import notify_eligible

    make_unit(name="HTX Rau sạch", kind=UnitKind.COOPERATIVE)
    make_unit(name="HTX Chưa lên sàn", kind=UnitKind.COOPERATIVE, platform_status=PlatformStatus.NOT_JOINED)
    make_unit(name="Tổ hợp tác Cá", kind=UnitKind.COOPERATIVE_GROUP)
    login(client, officer)
    assert client.get("/programs/new").status_code == 200
    response = post_form(client, "/programs/new", program_form(today))
    assert response.status_code == 302
    with app.app_context():
        program = db.session.scalars(select(SupportProgram)).one()
        assert (program.province_code, program.budget_vnd, program.status) == (86, 200_000_000, ProgramStatus.DRAFT)
        assert program.eligibility == {"kinds": ["HTX"]}
        program_id = program.id

    page = client.get(f"/programs/{program_id}").get_data(as_text=True)
    assert "HTX Rau sạch" in page and "HTX Chưa lên sàn" in page and "Tổ hợp tác Cá" not in page

    # Opening writes no notices itself: the workers do, after the commit.
    assert post_form(client, f"/programs/{program_id}/open").status_code == 302
    program = load(app, SupportProgram, program_id)
    assert program.status is ProgramStatus.OPEN and program.opened_at is not None
    with app.app_context():
        assert notify_eligible(program_id) == 0  # the approved HTX has no staff yet


def test_bad_program_form_is_refused_beside_its_field(app, client, login, officer, today):
    from ktt_market.extensions import db
    from ktt_market.programs.models import SupportProgram

    login(client, officer)
    bad = program_form(today, budget_vnd="nhiều", closes_on=(today - dt.timedelta(days=5)).isoformat())
    response = post_form(client, "/programs/new", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="budget_vnd-errors"' in page and 'id="closes_on-errors"' in page
    with app.app_context():
        assert db.session.scalar(select(SupportProgram.id)) is None


def test_officer_edits_a_draft_but_not_an_open_program(app, client, login, officer, make_program, today):
    from ktt_market.programs.models import SupportProgram

    draft = make_program(status=ProgramStatus.DRAFT)
    login(client, officer)
    assert client.get(f"/programs/{draft.id}/edit").status_code == 200
    data = program_form(today, title="Tên mới", wards=["28777"], grades=["good"], on_platform="y")
    assert post_form(client, f"/programs/{draft.id}/edit", data).status_code == 302
    program = load(app, SupportProgram, draft.id)
    assert program.title == "Tên mới"
    assert program.eligibility == {"kinds": ["HTX"], "ward_codes": [28777], "grades": ["good"], "on_platform": True}

    opened = make_program()
    response = post_form(client, f"/programs/{opened.id}/edit", program_form(today, title="Đổi"))
    assert response.status_code == 302
    assert load(app, SupportProgram, opened.id).title != "Đổi"


def test_admin_chooses_the_province(app, client, login, make_user, today):
    from ktt_market.extensions import db
    from ktt_market.programs.models import SupportProgram

    login(client, make_user(Role.ADMIN))
    response = post_form(client, "/programs/new", program_form(today))
    assert response.status_code == 422
    assert post_form(client, "/programs/new", program_form(today, province="91")).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SupportProgram.province_code)) == 91


def test_decisions_reject_needs_a_reason(app, client, login, officer, make_unit, make_program, make_application):
    from ktt_market.programs.models import ProgramApplication

    program = make_program()
    first = make_application(program, make_unit())
    second = make_application(program, make_unit())
    login(client, officer)
    assert client.get(f"/programs/applications/{first.id}").status_code == 200

    response = post_form(client, f"/programs/applications/{first.id}/decide", {"decision": "reject", "reason": ""})
    assert response.status_code == 422
    assert "Give the reason for the rejection." in response.get_data(as_text=True)
    assert load(app, ProgramApplication, first.id).status is ApplicationStatus.SUBMITTED

    post_form(client, f"/programs/applications/{first.id}/decide", {"decision": "reject", "reason": "Thiếu hồ sơ"})
    post_form(client, f"/programs/applications/{second.id}/decide", {"decision": "approve"})
    rejected, approved = load(app, ProgramApplication, first.id), load(app, ProgramApplication, second.id)
    assert (rejected.status, rejected.decision_reason) == (ApplicationStatus.REJECTED, "Thiếu hồ sơ")
    assert approved.status is ApplicationStatus.APPROVED and approved.decided_by_id == officer.id

    # Decided once: a second decision changes nothing.
    response = post_form(client, f"/programs/applications/{first.id}/decide", {"decision": "approve"})
    assert response.status_code == 422
    assert load(app, ProgramApplication, first.id).status is ApplicationStatus.REJECTED


def test_disbursements_may_not_exceed_the_budget(
    app, client, login, officer, make_unit, make_program, make_application, today
):
    from ktt_market.extensions import db
    from ktt_market.programs.models import Disbursement

    program = make_program(budget_vnd=50_000_000)
    a = make_application(program, make_unit(), status=ApplicationStatus.APPROVED)
    b = make_application(program, make_unit(), status=ApplicationStatus.APPROVED)
    waiting = make_application(program, make_unit())
    login(client, officer)
    day = today.isoformat()

    ok = post_form(client, f"/programs/applications/{a.id}/disburse", {"amount_vnd": "30.000.000", "disbursed_on": day})
    assert ok.status_code == 302
    over = post_form(
        client, f"/programs/applications/{b.id}/disburse", {"amount_vnd": "25.000.000", "disbursed_on": day}
    )
    assert over.status_code == 422
    page = over.get_data(as_text=True)
    assert "exceed the budget" in page and 'id="amount_vnd-errors"' in page
    zero = post_form(client, f"/programs/applications/{b.id}/disburse", {"amount_vnd": "0", "disbursed_on": day})
    assert zero.status_code == 422
    not_approved = post_form(
        client, f"/programs/applications/{waiting.id}/disburse", {"amount_vnd": "1.000", "disbursed_on": day}
    )
    assert not_approved.status_code == 422
    exact = post_form(
        client, f"/programs/applications/{b.id}/disburse", {"amount_vnd": "20.000.000", "disbursed_on": day}
    )
    assert exact.status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(select(Disbursement.amount_vnd))) == [20_000_000, 30_000_000]


def test_outcome_and_close(app, client, login, officer, make_unit, make_program, make_application):
    from ktt_market.audit.models import AuditEvent
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication, SupportProgram

    program = make_program()
    a = make_application(program, make_unit(), status=ApplicationStatus.APPROVED)
    login(client, officer)
    assert post_form(client, f"/programs/applications/{a.id}/outcome", {"outcome": ""}).status_code == 422
    response = post_form(client, f"/programs/applications/{a.id}/outcome", {"outcome": "Đã lên sàn 12 sản phẩm"})
    assert response.status_code == 302
    assert load(app, ProgramApplication, a.id).outcome == "Đã lên sàn 12 sản phẩm"
    assert post_form(client, f"/programs/{program.id}/close").status_code == 302
    assert load(app, SupportProgram, program.id).status is ProgramStatus.CLOSED
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"programs.application.outcome", "programs.program.close"} <= actions


def test_reach_figures(app, ctx, make_unit, make_user, make_product, make_order, make_program, make_assessment):
    from ktt_market.extensions import db
    from ktt_market.orders.models import OrderStatus
    from ktt_market.programs.models import Disbursement, ProgramApplication, SupportProgram
    from ktt_market.programs.services import program_reach, programs_summary

    year = 2024
    program = make_program(year=year, budget_vnd=80_000_000)
    up, down, rejected = make_unit(), make_unit(), make_unit()
    make_unit()  # eligible, never applied
    make_assessment(up, year - 1, "average")
    make_assessment(up, year + 1, "good")
    make_assessment(down, year - 1, "good")
    make_assessment(down, year + 1, "fair")
    buyer = make_user()
    product = make_product(up, price_vnd=100_000)
    at = lambda y: dt.datetime(y, 6, 1, 3, tzinfo=dt.UTC)  # noqa: E731
    make_order(up, buyer, [(product, 2)], placed_at=at(year - 1))
    make_order(up, buyer, [(product, 5)], placed_at=at(year + 1))
    make_order(up, buyer, [(product, 7)], status=OrderStatus.CANCELLED, placed_at=at(year + 1))
    make_order(up, buyer, [(product, 9)], status=OrderStatus.REFUNDED, placed_at=at(year + 1))
    make_order(rejected, buyer, [(make_product(rejected), 1)], placed_at=at(year + 1))
    applications = {}
    for unit, status in ((up, "approved"), (down, "approved"), (rejected, "rejected")):
        row = ProgramApplication(program_id=program.id, unit_id=unit.id, status=ApplicationStatus(status))
        db.session.add(row)
        db.session.flush()
        applications[unit.id] = row.id
    db.session.add(
        Disbursement(application_id=applications[up.id], amount_vnd=20_000_000, disbursed_on=dt.date(2024, 5, 1))
    )
    db.session.commit()

    reach = program_reach(db.session.get(SupportProgram, program.id))
    assert reach["eligible"] == 4
    assert (reach["applicants"], reach["approved"], reach["rejected"]) == (3, 2, 1)
    assert (reach["budget_vnd"], reach["disbursed_vnd"], reach["disbursed_pct"]) == (80_000_000, 20_000_000, 25.0)
    assert reach["grades_before"] == {"good": 1, "fair": 0, "average": 1, "weak": 0}
    assert reach["grades_after"] == {"good": 1, "fair": 1, "average": 0, "weak": 0}
    assert (reach["grade_up"], reach["grade_down"], reach["grade_same"]) == (1, 1, 0)
    assert (reach["sales_before_vnd"], reach["sales_after_vnd"]) == (200_000, 500_000)

    summary = programs_summary(86, year)
    assert (summary["count"], summary["beneficiaries"], summary["disbursed_pct"]) == (1, 2, 25.0)
    assert programs_summary(91, year)["count"] == 0


def test_reach_counts_sales_by_the_vietnamese_calendar_year(
    app, ctx, make_unit, make_user, make_product, make_order, make_program
):
    """An order at 00:30 on 1 January in Vietnam (17:30 UTC on 31 December) is a sale of the new year."""
    from ktt_market.extensions import db
    from ktt_market.programs.models import ProgramApplication, SupportProgram
    from ktt_market.programs.services import program_reach

    program = make_program(year=2024)
    unit = make_unit()
    product = make_product(unit, price_vnd=100_000)
    buyer = make_user()
    make_order(unit, buyer, [(product, 3)], placed_at=dt.datetime(2024, 12, 31, 17, 30, tzinfo=dt.UTC))  # 2025 in VN
    make_order(unit, buyer, [(product, 1)], placed_at=dt.datetime(2023, 12, 31, 16, 59, tzinfo=dt.UTC))  # 2023 in VN
    make_order(unit, buyer, [(product, 2)], placed_at=dt.datetime(2023, 12, 31, 17, 0, tzinfo=dt.UTC))  # 2024 in VN
    db.session.add(ProgramApplication(program_id=program.id, unit_id=unit.id, status=ApplicationStatus.APPROVED))
    db.session.commit()

    reach = program_reach(db.session.get(SupportProgram, program.id))
    assert (reach["sales_before_vnd"], reach["sales_after_vnd"]) == (100_000, 300_000)
