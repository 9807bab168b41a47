"""The annual report: figures checked one by one against a registry built here, its outputs, and who may read it."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.core

D = dt.date
YEAR = 2024
VINH_LONG, HA_NOI = 86, 1
VL_WARD, HN_WARD = 29242, 4

CONTRACT_KEYS = {
    "": sorted(
        "year province_code cooperative_groups cooperatives unions credit_funds members charter_capital_vnd"
        " classification".split()
    ),
    "cooperative_groups": sorted("total members agriculture non_agriculture founded founded_members dissolved".split()),
    "cooperatives": sorted("total agriculture non_agriculture founded dissolved".split()),
    "unions": ["total"],
    "credit_funds": ["total"],
    "classification": sorted(
        "eligible not_eligible_stopped not_eligible_new good fair average weak unrated"
        " good_pct fair_pct average_pct weak_pct".split()
    ),
}


@pytest.fixture
def build(app):
    """Add units (with their register and assessment) in one commit; return name -> unit id."""
    from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
    from ktt_market.extensions import db
    from ktt_market.members.models import Member
    from ktt_market.registry.models import Sector, Unit, UnitKind

    counter = iter(range(1, 100_000))

    def make(specs: dict[str, dict]) -> dict[str, int]:
        ids = {}
        with app.app_context():
            for name, spec in specs.items():
                spec = dict(spec)
                n = next(counter)
                register = spec.pop("register", ())
                assessment = spec.pop("assessment", None)
                ward = spec.pop("ward", VL_WARD)
                unit = Unit(
                    kind=UnitKind(spec.pop("kind", "HTX")),
                    sector=Sector(spec.pop("sector", "agriculture")),
                    registration_code=f"R{n:05d}",
                    name=name,
                    ward_code=ward,
                    province_code=HA_NOI if ward == HN_WARD else VINH_LONG,
                    declared_members=spec.pop("members", 10),
                    charter_capital_vnd=spec.pop("capital", 0),
                    **spec,
                )
                db.session.add(unit)
                db.session.flush()
                for i, (joined, left) in enumerate(register):
                    db.session.add(
                        Member(unit_id=unit.id, code=f"M{i}", full_name=f"TV {i}", joined_on=joined, left_on=left)
                    )
                if assessment:
                    status, grade, score = assessment
                    db.session.add(
                        Assessment(
                            unit_id=unit.id,
                            year=YEAR,
                            rubric_id=1,
                            status=AssessmentStatus(status),
                            grade=Grade(grade) if grade else None,
                            score=score,
                        )
                    )
                ids[name] = unit.id
            db.session.commit()
        return ids

    return make


THT, HTX, LHHTX, QTDND = "THT", "HTX", "LHHTX", "QTDND"
AGRI, NON = "agriculture", "non_agriculture"

REGISTRY = {
    # Cooperative groups
    "g1 old": dict(kind=THT, founded_on=D(2020, 1, 1), members=10),
    "g2 founded in the year": dict(kind=THT, founded_on=D(2024, 3, 1), members=7),
    "g3 founded and dissolved in the year": dict(
        kind=THT, sector=NON, founded_on=D(2024, 6, 1), dissolved_on=D(2024, 11, 1), members=5
    ),
    "g4 dissolved before": dict(kind=THT, founded_on=D(2019, 1, 1), dissolved_on=D(2023, 5, 1), members=50),
    "g5 founded after": dict(kind=THT, sector=NON, founded_on=D(2025, 2, 1), members=50),
    "g6 dissolved on 31 December": dict(kind=THT, founded_on=D(2018, 1, 1), dissolved_on=D(2024, 12, 31), members=50),
    # Register: one active on 31 Dec, one left before, one joining after: 1 member (declared 4).
    "g7 founded 31 December with a register": dict(
        kind=THT,
        sector=NON,
        founded_on=D(2024, 12, 31),
        members=4,
        register=[(D(2024, 12, 1), None), (D(2024, 12, 1), D(2024, 12, 15)), (D(2025, 1, 5), None)],
    ),
    "g8 stopped long ago": dict(kind=THT, founded_on=D(2021, 1, 1), stopped_on=D(2022, 1, 1), members=6),
    "g9 stopped after dissolved": dict(
        kind=THT, founded_on=D(2010, 1, 1), stopped_on=D(2023, 5, 1), dissolved_on=D(2023, 1, 1), members=1
    ),
    # Cooperatives
    "c1 good": dict(founded_on=D(2020, 5, 1), members=20, capital=100_000_000, assessment=("final", "good", 85)),
    "c2 founded 31 Dec before, imported fair": dict(
        founded_on=D(2023, 12, 31), members=15, capital=50_000_000, assessment=("imported", "fair", 81)
    ),
    "c3 founded 1 January, new": dict(
        sector=NON, founded_on=D(2024, 1, 1), members=8, capital=10_000_000, assessment=("draft", None, None)
    ),
    "c4 stopped 30 September": dict(
        founded_on=D(2019, 1, 1),
        stopped_on=D(2024, 9, 30),
        members=12,
        capital=20_000_000,
        assessment=("final", "weak", 40),
    ),
    "c5 stopped 1 October, register": dict(
        sector=NON,
        founded_on=D(2019, 1, 1),
        stopped_on=D(2024, 10, 1),
        members=9,
        capital=30_000_000,
        register=[(D(2019, 1, 1), None), (D(2020, 1, 1), None), (D(2020, 1, 1), D(2024, 6, 1))],
    ),
    "c6 dissolved in the year": dict(founded_on=D(2019, 1, 1), dissolved_on=D(2024, 6, 1), members=99, capital=9),
    "c7 founded after": dict(founded_on=D(2025, 1, 1), members=99, capital=9),
    "c8 dissolved 31 Dec before": dict(
        sector=NON, founded_on=D(2018, 1, 1), dissolved_on=D(2023, 12, 31), members=99, capital=9
    ),
    "c9 submitted only": dict(
        founded_on=D(2018, 1, 1), members=11, capital=40_000_000, assessment=("submitted", None, 70)
    ),
    "c10 average": dict(founded_on=D(2018, 1, 1), members=13, capital=60_000_000, assessment=("final", "average", 55)),
    "c11 new and stopped": dict(founded_on=D(2024, 3, 1), stopped_on=D(2024, 5, 1), members=3, capital=5_000_000),
    "c12 no founding date": dict(founded_on=None, members=99, capital=9),
    # Unions and credit funds
    "u1": dict(kind=LHHTX, founded_on=D(2015, 1, 1), members=4, capital=500_000_000),
    "u2 founded in the year": dict(kind=LHHTX, founded_on=D(2024, 7, 1), members=2, capital=100_000_000),
    "u3 dissolved before": dict(kind=LHHTX, founded_on=D(2015, 1, 1), dissolved_on=D(2022, 1, 1), members=9),
    "f1": dict(kind=QTDND, founded_on=D(2000, 1, 1), members=1000, capital=2_000_000_000),
    "f2 dissolved in the year": dict(kind=QTDND, founded_on=D(2010, 1, 1), dissolved_on=D(2024, 2, 1), members=900),
    # Another province
    "h1 Hà Nội good": dict(
        ward=HN_WARD, founded_on=D(2015, 1, 1), members=30, capital=7, assessment=("final", "good", 90)
    ),
    "h2 Hà Nội group": dict(kind=THT, ward=HN_WARD, founded_on=D(2024, 2, 1), members=3),
}

EXPECTED = {
    "year": 2024,
    "province_code": 86,
    "cooperative_groups": {
        "total": 4,  # g1, g2, g7, g8 (stopped counts)
        "members": 24,  # 10 + 7 + 1 (g7's register) + 6
        "agriculture": 3,
        "non_agriculture": 1,
        "founded": 3,  # g2, g3, g7
        "founded_members": 13,  # 7 + 5 + 1
        "dissolved": 2,  # g3, g6
    },
    "cooperatives": {"total": 8, "agriculture": 6, "non_agriculture": 2, "founded": 2, "dissolved": 1},
    "unions": {"total": 2},
    "credit_funds": {"total": 1},
    # HTX 20+15+8+12+2+11+13+3 = 84, unions 6, fund 1000
    "members": 1090,
    "charter_capital_vnd": 315_000_000 + 600_000_000 + 2_000_000_000,
    "classification": {
        "eligible": 5,  # c1, c2, c5, c9, c10
        "not_eligible_stopped": 1,  # c4
        "not_eligible_new": 2,  # c3, c11
        "good": 1,
        "fair": 1,
        "average": 1,
        "weak": 0,
        "unrated": 2,  # c5, c9
        "good_pct": 20.0,
        "fair_pct": 20.0,
        "average_pct": 20.0,
        "weak_pct": 0.0,
    },
}


def test_report_figure_by_figure(ctx, build):
    from ktt_market.province.report import annual_report

    build(REGISTRY)
    assert annual_report(VINH_LONG, YEAR) == EXPECTED


def test_whole_country_adds_the_other_province(ctx, build):
    from ktt_market.province.report import annual_report

    build(REGISTRY)
    report = annual_report(None, YEAR)
    assert report["province_code"] is None
    assert report["cooperatives"]["total"] == 9
    assert report["cooperative_groups"]["founded"] == 4
    assert report["classification"]["good"] == 2
    assert report["classification"]["good_pct"] == 33.3  # 2 of 6


def test_a_year_with_nothing_has_no_percentages(ctx):
    from ktt_market.province.report import annual_report

    cls = annual_report(VINH_LONG, YEAR)["classification"]
    assert cls["eligible"] == 0
    assert cls["good_pct"] is None and cls["weak_pct"] is None


def test_contract_keys_exactly(ctx, build):
    from ktt_market.province.report import annual_report, report_json

    build(REGISTRY)
    report = json.loads(report_json(annual_report(VINH_LONG, YEAR)))
    assert sorted(report) == CONTRACT_KEYS[""]
    for key, keys in CONTRACT_KEYS.items():
        if key:
            assert sorted(report[key]) == keys


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(7, 136, 5.1), (34, 136, 25.0), (40, 136, 29.4), (1, 16, 6.3), (5, 16, 31.3), (1, 80, 1.3), (0, 5, 0.0)],
)
def test_percent_rounds_half_up(part, whole, shown):
    from ktt_market.province.report import percent

    assert percent(part, whole) == shown


def test_percentages_half_up_in_the_report(ctx, build):
    from ktt_market.province.report import annual_report

    # 16 eligible: 1 good is 6.25% and 5 weak 31.25%, which round() would make 6.2 and 31.2.
    grades = ["good"] + ["weak"] * 5 + ["fair"] * 3 + [None] * 7
    build(
        {
            f"e{i}": dict(founded_on=D(2010, 1, 1), assessment=("final", g, 50) if g else None)
            for i, g in enumerate(grades)
        }
    )
    cls = annual_report(VINH_LONG, YEAR)["classification"]
    assert (cls["eligible"], cls["good"], cls["weak"], cls["fair"], cls["unrated"]) == (16, 1, 5, 3, 7)
    assert (cls["good_pct"], cls["weak_pct"], cls["fair_pct"], cls["average_pct"]) == (6.3, 31.3, 18.8, 0.0)


def test_data_quality_names_what_does_not_add_up(ctx, build):
    from ktt_market.province.report import data_quality

    build(REGISTRY)
    checks = {c.key: c for c in data_quality(VINH_LONG, YEAR)}
    names = {key: sorted(f.name for f in c.findings) for key, c in checks.items()}
    assert names == {
        "ungraded_eligible": ["c5 stopped 1 October, register", "c9 submitted only"],
        "graded_not_eligible": ["c4 stopped 30 September"],
        "grade_disagrees_with_score": ["c2 founded 31 Dec before, imported fair"],
        "register_disagrees": ["c5 stopped 1 October, register", "g7 founded 31 December with a register"],
        "no_founding_date": ["c12 no founding date"],
        "stopped_after_dissolved": ["g9 stopped after dissolved"],
    }
    assert all(c.count == len(c.findings) for c in checks.values())
    register = {f.name: f.values for f in checks["register_disagrees"].findings}
    assert register["c5 stopped 1 October, register"] == (9, 2)


# ------------------------------------------------------------------ pages and downloads


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=VINH_LONG)


def test_officer_reads_the_page(client, login, officer, build):
    build(REGISTRY)
    login(client, officer)
    response = client.get(f"/reports/annual?year={YEAR}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Vĩnh Long" in page
    assert "c9 submitted only" in page  # the data-quality list names it
    assert "h1 Hà Nội good" not in page
    assert "3.115.000.000" not in page and "2.915.000.000" in page  # charter capital, in đồng
    assert "20,0%" in page  # percentages the Vietnamese way


def test_officer_cannot_read_another_province(client, login, officer, build):
    build(REGISTRY)
    login(client, officer)
    for path in ("/reports/annual", "/reports/annual.xlsx", "/reports/annual.json"):
        assert client.get(f"{path}?year={YEAR}&province={HA_NOI}").status_code == 404
    assert client.get(f"/reports/annual.json?year={YEAR}&province={VINH_LONG}").status_code == 200


def test_officer_of_another_province_sees_only_theirs(client, login, make_user, build):
    build(REGISTRY)
    login(client, make_user("officer", province_code=HA_NOI))
    page = client.get(f"/reports/annual?year={YEAR}").get_data(as_text=True)
    assert "c9 submitted only" not in page
    report = client.get(f"/reports/annual.json?year={YEAR}").get_json()
    assert report["province_code"] == HA_NOI
    assert report["cooperatives"]["total"] == 1 and report["cooperative_groups"]["founded"] == 1


def test_buyers_and_visitors_are_kept_out(client, login, make_user):
    assert client.get("/reports/annual").status_code == 302  # to the login page
    login(client, make_user())
    assert client.get("/reports/annual").status_code == 403
    assert client.get("/reports/annual.json").status_code == 403


def test_admin_chooses_a_province_or_the_country(client, login, make_user, build):
    build(REGISTRY)
    login(client, make_user("admin"))
    assert client.get(f"/reports/annual.json?year={YEAR}&province={VINH_LONG}").get_json() == EXPECTED
    assert client.get(f"/reports/annual.json?year={YEAR}").get_json()["province_code"] is None
    assert client.get(f"/reports/annual?year={YEAR}").status_code == 200
    assert client.get(f"/reports/annual?year={YEAR}&province=99").status_code == 404


def test_a_bad_year_is_said_beside_the_field(client, login, officer):
    login(client, officer)
    response = client.get("/reports/annual?year=1800")
    assert response.status_code == 422
    assert "2000" in response.get_data(as_text=True)
    assert client.get("/reports/annual.xlsx?year=abc").status_code == 404


def test_downloads(client, login, officer, build):
    build(REGISTRY)
    login(client, officer)
    response = client.get(f"/reports/annual.json?year={YEAR}")
    assert response.mimetype == "application/json"
    assert "bao-cao-ktt-2024-86.json" in response.headers["Content-Disposition"]
    assert response.get_json() == EXPECTED
    response = client.get(f"/reports/annual.xlsx?year={YEAR}")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert len(wb.sheetnames) == 4
    figures = [row[1] for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert 2_915_000_000 in figures and 1090 in figures
    quality = [row[2] for row in wb.worksheets[3].iter_rows(min_row=2, values_only=True)]
    assert "c9 submitted only" in quality


# ------------------------------------------------------------------ the command


def test_command_writes_json_to_standard_output(runner, build):
    build(REGISTRY)
    result = runner.invoke(args=["report", "annual", "--year", str(YEAR), "--province", str(VINH_LONG)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == EXPECTED
    assert list(json.loads(result.output)) == list(EXPECTED)  # the contract's order


def test_command_writes_xlsx_and_html_to_a_file(runner, build, tmp_path):
    build(REGISTRY)
    out = tmp_path / "report.xlsx"
    args = ["report", "annual", "--year", str(YEAR), "--province", str(VINH_LONG)]
    result = runner.invoke(args=[*args, "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert [row[1] for row in wb.worksheets[2].iter_rows(min_row=2, max_row=2, values_only=True)] == [5]
    html = tmp_path / "report.html"
    result = runner.invoke(args=[*args, "--format", "html", "--output", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert text.startswith("<!doctype html>") and "c9 submitted only" in text and "<script" not in text


def test_command_refuses_an_unknown_province(runner):
    result = runner.invoke(args=["report", "annual", "--year", str(YEAR), "--province", "99"])
    assert result.exit_code == 2
    assert "99" in result.output
