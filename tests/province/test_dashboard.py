"""The participation dashboard: figures against a registry built here, drill-down lists, charts, access."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from ktt_market.core.i18n import VN_TZ

pytestmark = pytest.mark.core

YEAR = 2024
W1, W2 = 28777, 29771  # two wards of Vĩnh Long (86)
OTHER_WARD = 30292  # An Giang (91)


def vn(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(app, make_unit, make_user, make_product, make_order):
    """Units of Vĩnh Long in 2024 (and one of An Giang) with products, orders, payments, grades, a program."""
    from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
    from ktt_market.extensions import db
    from ktt_market.orders.models import OrderStatus, PaymentMethod
    from ktt_market.payments.models import Collector, Payment, PaymentStatus
    from ktt_market.programs.models import (
        ApplicationStatus,
        Disbursement,
        FundingSource,
        ProgramApplication,
        ProgramKind,
        ProgramStatus,
        SupportProgram,
    )
    from ktt_market.registry.models import PlatformStatus, Sector, UnitKind

    a = make_unit(name="HTX An", ward_code=W1, declared_members=10, charter_capital_vnd=100_000_000)
    b = make_unit(
        name="THT Bình",
        kind=UnitKind.COOPERATIVE_GROUP,
        sector=Sector.NON_AGRICULTURE,
        founded_on=dt.date(YEAR, 3, 1),
        ward_code=W2,
        declared_members=5,
        charter_capital_vnd=0,
        platform_status=PlatformStatus.NOT_JOINED,
    )
    c = make_unit(name="HTX Cũ", founded_on=dt.date(2019, 1, 1), dissolved_on=dt.date(YEAR, 6, 1), ward_code=W1)
    d = make_unit(name="HTX Mới", founded_on=dt.date(YEAR + 1, 2, 1), ward_code=W1)
    e = make_unit(name="HTX Em", ward_code=W2, declared_members=20, charter_capital_vnd=50_000_000)
    f = make_unit(name="HTX Xa", ward_code=OTHER_WARD)
    buyer = make_user()
    pa = make_product(a, price_vnd=100_000)
    make_product(e, published=False)
    pe = make_product(e, price_vnd=30_000, published=False)
    pf = make_product(f, price_vnd=10_000)
    # The 90 days to 31/12/2024 start on 03/10/2024 at midnight, Vietnam time.
    oa = make_order(a, buyer, [(pa, 1)], placed_at=vn(YEAR, 10, 3, 0, 0, 0))
    oe = make_order(e, buyer, [(pe, 2)], placed_at=vn(YEAR, 10, 2, 23, 59, 59))
    make_order(e, buyer, [(pe, 5)], status=OrderStatus.CANCELLED, placed_at=vn(YEAR, 11, 5, 10))
    make_order(e, buyer, [(pe, 7)], placed_at=vn(YEAR + 1, 1, 1, 0, 0, 1))  # next year
    make_order(f, buyer, [(pf, 1)], placed_at=vn(YEAR, 11, 1, 9))
    with app.app_context():
        db.session.add_all(
            [
                Payment(
                    order_id=oa.order_id,
                    purchase_id=oa.purchase_id,
                    method=PaymentMethod.CARD,
                    collector=Collector.PLATFORM,
                    amount_vnd=100_000,
                    status=PaymentStatus.SUCCEEDED,
                    paid_at=vn(YEAR, 10, 3, 8),
                ),
                Payment(
                    order_id=oe.order_id,
                    purchase_id=oe.purchase_id,
                    method=PaymentMethod.COD,
                    collector=Collector.COOPERATIVE,
                    amount_vnd=60_000,
                    status=PaymentStatus.SUCCEEDED,
                    paid_at=vn(YEAR, 10, 5, 8),
                ),
                Assessment(
                    unit_id=a.id, year=YEAR, rubric_id=1, status=AssessmentStatus.FINAL, score=85, grade=Grade.GOOD
                ),
                Assessment(
                    unit_id=e.id, year=YEAR, rubric_id=1, status=AssessmentStatus.IMPORTED, score=70, grade=Grade.FAIR
                ),
                Assessment(unit_id=c.id, year=YEAR, rubric_id=1, status=AssessmentStatus.DRAFT, grade=Grade.GOOD),
                Assessment(
                    unit_id=e.id, year=YEAR - 1, rubric_id=1, status=AssessmentStatus.FINAL, score=90, grade=Grade.GOOD
                ),
            ]
        )
        program = SupportProgram(
            province_code=86,
            year=YEAR,
            kind=ProgramKind.TRAINING,
            title="Tập huấn thương mại điện tử",
            budget_vnd=50_000_000,
            funding_source=FundingSource.LOCAL,
            opens_on=dt.date(YEAR, 3, 1),
            closes_on=dt.date(YEAR, 4, 1),
            eligibility={},
            status=ProgramStatus.CLOSED,
        )
        db.session.add(program)
        db.session.flush()
        approved = ProgramApplication(program_id=program.id, unit_id=a.id, status=ApplicationStatus.APPROVED)
        db.session.add_all(
            [approved, ProgramApplication(program_id=program.id, unit_id=e.id, status=ApplicationStatus.REJECTED)]
        )
        db.session.flush()
        db.session.add(
            Disbursement(application_id=approved.id, amount_vnd=10_000_000, disbursed_on=dt.date(YEAR, 5, 1))
        )
        second = SupportProgram(
            province_code=86,
            year=YEAR,
            kind=ProgramKind.BRANDING_OCOP,
            title="Xây dựng thương hiệu OCOP",
            budget_vnd=20_000_000,
            funding_source=FundingSource.CENTRAL,
            opens_on=dt.date(YEAR, 6, 1),
            closes_on=dt.date(YEAR, 7, 1),
            eligibility={},
            status=ProgramStatus.OPEN,
        )
        draft = SupportProgram(
            province_code=86,
            year=YEAR,
            kind=ProgramKind.TRAINING,
            title="Chương trình nháp",
            budget_vnd=99_000_000,
            funding_source=FundingSource.LOCAL,
            opens_on=dt.date(YEAR, 6, 1),
            closes_on=dt.date(YEAR, 7, 1),
            eligibility={},
            status=ProgramStatus.DRAFT,
        )
        db.session.add_all([second, draft])
        db.session.flush()
        db.session.add_all(
            [
                ProgramApplication(program_id=second.id, unit_id=uid, status=ApplicationStatus.APPROVED)
                for uid in (a.id, e.id)
            ]
        )
        db.session.commit()
        program_id = program.id
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, program_id=program_id)


def figures_for(app, province=86, ward=None):
    from ktt_market.province.dashboard import Scope, dashboard

    with app.app_context():
        return dashboard(Scope(province=province, year=YEAR, today=dt.date(2026, 1, 10), ward=ward))


def test_registry_figures(app, world):
    from ktt_market.registry.models import Sector, UnitKind

    f = figures_for(app)
    reg = f["registry"]
    assert reg["total"] == {"units": 3, "members": 35, "capital": 150_000_000}  # a, b, e on 31/12/2024
    assert reg["by_kind"][UnitKind.COOPERATIVE]["units"] == 2
    assert reg["by_kind"][UnitKind.COOPERATIVE_GROUP] == {"units": 1, "members": 5, "capital": 0}
    assert reg["by_sector"] == {Sector.AGRICULTURE: 2, Sector.NON_AGRICULTURE: 1}
    assert dict(f["by_place"]) == {W1: 1, W2: 2}
    assert f["events"][UnitKind.COOPERATIVE_GROUP]["founded"] == 1
    assert f["events"][UnitKind.COOPERATIVE] == {"founded": 0, "dissolved": 1}


def test_participation_sales_payments(app, world):
    f = figures_for(app)
    assert f["participation"] == {"existing": 3, "on_platform": 2, "published": 1, "ordered": 1}
    sales = f["sales"]
    assert sales["total"] == 160_000  # cancelled and next year's orders left out
    assert sales["by_place"] == [(W1, 100_000, 1, 1), (W2, 60_000, 1, 1)]
    by_month = {m: (total, units) for m, total, units in sales["by_month"]}
    assert by_month[10] == (160_000, 2)
    assert by_month[11] == (0, 0)
    pay = f["payments"]
    assert (pay["paid"], pay["electronic"], pay["share"]) == (2, 1, 50.0)
    assert pay["share_vnd"] == 62.5
    assert pay["units"] == 1


def test_classification_and_programs(app, world):
    from ktt_market.classification.models import Grade

    f = figures_for(app)
    cls = f["classification"]
    assert cls["current"] == {Grade.GOOD: 1, Grade.FAIR: 1, Grade.AVERAGE: 0, Grade.WEAK: 0}  # the draft not counted
    assert cls["table"][YEAR - 1][Grade.GOOD] == 1
    pr = f["programs"]
    # The draft program is left out; HTX An, helped by both programs, is one beneficiary.
    assert (pr["count"], pr["budget"], pr["disbursed"], pr["beneficiaries"]) == (2, 70_000_000, 10_000_000, 2)
    assert [r["beneficiaries"] for r in pr["rows"]] == [1, 2]


def test_ward_filter_and_the_whole_country(app, world):
    f = figures_for(app, ward=W1)
    assert f["registry"]["total"]["units"] == 1
    assert f["sales"]["total"] == 100_000
    country = figures_for(app, province=None)
    assert country["registry"]["total"]["units"] == 4
    assert dict(country["by_place"]) == {86: 3, 91: 1}
    assert country["sales"]["total"] == 170_000


def test_90_day_window_follows_today_in_the_current_year(app, world):
    from ktt_market.province.dashboard import Scope

    scope = Scope(province=86, year=YEAR, today=dt.date(YEAR, 12, 31))
    start, end = scope.window
    assert start == vn(YEAR, 10, 3)
    assert end == vn(YEAR + 1, 1, 1)
    assert Scope(province=86, year=2026, today=dt.date(2026, 3, 15)).day == dt.date(2026, 3, 15)


def names_on(page: str) -> set[str]:
    return set(re.findall(r'<th scope="row"><a href="/registry/units/\d+">([^<]+)</a>', page))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metric=existing", {"HTX An", "THT Bình", "HTX Em"}),
        ("metric=existing&kind=HTX", {"HTX An", "HTX Em"}),
        ("metric=existing&sector=non_agriculture", {"THT Bình"}),
        (f"metric=existing&ward={W2}", {"THT Bình", "HTX Em"}),
        ("metric=founded", {"THT Bình"}),
        ("metric=dissolved", {"HTX Cũ"}),
        ("metric=on_platform", {"HTX An", "HTX Em"}),
        ("metric=published", {"HTX An"}),
        ("metric=ordered", {"HTX An"}),
        ("metric=sold", {"HTX An", "HTX Em"}),
        ("metric=sold&month=11", set()),
        ("metric=electronic", {"HTX An"}),
        ("metric=grade&value=good", {"HTX An"}),
        ("metric=grade&value=fair", {"HTX Em"}),
    ],
)
def test_drill_down_lists_the_counted_units(client, login, make_user, world, query, expected):
    login(client, make_user("officer", province_code=86))
    response = client.get(f"/province/units?year={YEAR}&{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert names_on(page) == expected


def test_program_drill_down(client, login, make_user, world):
    login(client, make_user("officer", province_code=86))
    page = client.get(f"/province/units?year={YEAR}&metric=program&value={world['program_id']}").get_data(as_text=True)
    assert names_on(page) == {"HTX An"}
    page = client.get(f"/province/units?year={YEAR}&metric=program").get_data(as_text=True)
    assert names_on(page) == {"HTX An", "HTX Em"}
    assert client.get(f"/province/units?year={YEAR}&metric=program&value=x").status_code == 404


def test_dashboard_links_lead_to_lists_of_the_counted_units(client, login, make_user, world):
    login(client, make_user("officer", province_code=86))
    page = client.get(f"/province/dashboard?year={YEAR}").get_data(as_text=True)
    links = re.findall(r'<a href="(/province/units\?[^"]+)">([\d.]+)</a>', page)
    assert len(links) > 30
    for href, shown in links:
        listed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        found = re.search(r"<strong>[^<\d]*(\d+)", listed)
        assert found and found.group(1) == shown.replace(".", ""), href


def test_dashboard_page_charts_are_clean_svg(client, login, make_user, world):
    login(client, make_user("officer", province_code=86))
    response = client.get(f"/province/dashboard?year={YEAR}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 6
    for svg in svgs:
        root = ET.fromstring(svg)  # noqa: S314  (our own page)
        assert root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title").text
        assert "style=" not in svg and "<script" not in svg
    assert "style=" not in page and "<script>" not in page
    assert page.count("<table") == 8  # a table beside every chart, and two without one
    assert "Tập huấn thương mại điện tử" in page and "Chương trình nháp" not in page


def test_officer_sees_only_their_province(client, login, make_user, world):
    login(client, make_user("officer", province_code=86))
    assert client.get("/province/dashboard?province=91").status_code == 404
    assert client.get("/province/units?metric=existing&province=91").status_code == 404
    assert client.get(f"/province/dashboard?ward={OTHER_WARD}").status_code == 404
    assert client.get(f"/province/units?metric=existing&ward={OTHER_WARD}").status_code == 404
    assert client.get("/province/units?metric=nonsense").status_code == 404
    assert client.get("/province/units?metric=grade&value=excellent").status_code == 404
    page = client.get(f"/province/units?year={YEAR}&metric=sold").get_data(as_text=True)
    assert "HTX Xa" not in page


def test_admin_switches_province_and_sees_the_country(client, login, make_user, world):
    login(client, make_user("admin"))
    page = client.get(f"/province/dashboard?year={YEAR}&province=91").get_data(as_text=True)
    assert "An Giang" in page
    assert names_on(client.get(f"/province/units?year={YEAR}&province=91").get_data(as_text=True)) == {"HTX Xa"}
    country = client.get(f"/province/dashboard?year={YEAR}")
    assert country.status_code == 200
    assert "Vĩnh Long" in country.get_data(as_text=True)
    assert client.get("/province/dashboard?province=999").status_code == 404


def test_others_are_refused(client, login, make_user, make_unit, make_staff):
    assert client.get("/province/dashboard").status_code == 302  # to the login page
    staff = make_staff(make_unit())
    login(client, staff)
    assert client.get("/province/dashboard").status_code == 403
    assert client.get("/province/units").status_code == 403


def test_a_bounded_number_of_queries(app, world, make_unit):
    from sqlalchemy import event

    from ktt_market.extensions import db

    def count_queries() -> int:
        seen = []
        with app.app_context():
            listener = lambda *args: seen.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                figures_for(app)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    before = count_queries()
    for ward in (W1, W2, 29770):
        make_unit(ward_code=ward)
    assert count_queries() == before <= 20


def test_administration_start_page_lists_the_tools_by_role(app, client, make_user, login):
    login(client, make_user("officer"))
    html = client.get("/province/").get_data(as_text=True)
    for path in ("/province/dashboard", "/registry", "/classification", "/programs", "/reports/annual", "/audit/"):
        assert f'href="{path}' in html, path
    assert "/ledger/payouts" not in html  # payouts are the platform admin's
    # One link in the header instead of a dozen: the menu stays short on a phone.
    assert html.count('href="/province/"') == 1
    admin = login(app.test_client(), make_user("admin"))
    assert "/ledger/payouts" in admin.get("/province/").get_data(as_text=True)
    buyer = login(app.test_client(), make_user())
    assert buyer.get("/province/").status_code == 403
