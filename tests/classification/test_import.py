"""`flask classification import`: all rows or none, every bad row named; the officers' upload too."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
from ktt_market.extensions import db
from tests.conftest import post_form

pytestmark = pytest.mark.core

HEADER = "registration_code,year,score,rating\n"


def _run(runner, tmp_path, text: str, *args: str, name: str = "kq.csv"):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return runner.invoke(args=["classification", "import", str(path), "--lang", "en", *args])


def _stored(app) -> dict[tuple[str, int], tuple[AssessmentStatus, int, Grade]]:
    from ktt_market.registry.models import Unit

    with app.app_context():
        rows = db.session.execute(select(Unit.registration_code, Assessment).join(Unit, Unit.id == Assessment.unit_id))
        return {(code, a.year): (a.status, a.score, a.grade) for code, a in rows}


@pytest.fixture
def units(make_unit):
    return {
        "old": make_unit(registration_code="HTX-OLD", founded_on=dt.date(2015, 1, 1)),
        "new": make_unit(registration_code="HTX-NEW", founded_on=dt.date(2023, 6, 1)),
        "stopped": make_unit(registration_code="HTX-STOP", stopped_on=dt.date(2023, 5, 1)),
        "far": make_unit(registration_code="HTX-FAR", ward_code=30292),
    }


def test_good_file_is_imported_and_counted(app, runner, tmp_path, units):
    result = _run(runner, tmp_path, "htx-old,2022,81,good\nHTX-OLD,2023,64,average\nHTX-NEW,2024,50,trung bình\n")
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, unchanged 0" in result.output
    stored = _stored(app)
    assert stored[("HTX-OLD", 2022)] == (AssessmentStatus.IMPORTED, 81, Grade.GOOD)
    assert stored[("HTX-NEW", 2024)] == (AssessmentStatus.IMPORTED, 50, Grade.AVERAGE)

    again = _run(runner, tmp_path, "HTX-OLD,2022,81,good\nHTX-OLD,2023,65,fair\n")
    assert again.exit_code == 0, again.output
    assert "created 0, updated 1, unchanged 1" in again.output
    assert _stored(app)[("HTX-OLD", 2023)] == (AssessmentStatus.IMPORTED, 65, Grade.FAIR)


def test_any_bad_row_writes_nothing_and_names_every_row(app, runner, tmp_path, units):
    text = (
        "HTX-OLD,2022,81,good\n"  # 2: fine
        "NOPE,2022,70,fair\n"  # 3: unknown code
        "HTX-OLD,20x2,70,fair\n"  # 4: bad year
        "HTX-OLD,2021,7.5,weak\n"  # 5: bad score
        "HTX-OLD,2020,79,good\n"  # 6: rating disagrees (79 is fair)
        "HTX-NEW,2023,70,fair\n"  # 7: new in 2023
        "HTX-STOP,2023,70,fair\n"  # 8: stopped
        "HTX-OLD,2022,81,good\n"  # 9: duplicate of row 2
        "HTX-OLD,2019,81,good\n"  # 10: no rubric
        "HTX-OLD,2021,101,good\n"  # 11: above the total
        "HTX-OLD,2021,90,excellent\n"  # 12: unknown rating
    )
    result = _run(runner, tmp_path, text)
    assert result.exit_code == 1
    out = result.output
    assert not any(line.startswith("row 2:") for line in out.splitlines())
    for row, words in [
        (3, "unknown registration code NOPE"),
        (4, "20x2"),
        (5, "7.5"),
        (6, "disagrees"),
        (7, "12 months"),
        (8, "stopped"),
        (9, "duplicate of row 2"),
        (10, "no rubric covers 2019"),
        (11, "above the 100 points"),
        (12, "excellent"),
    ]:
        assert f"row {row}:" in out and words in out, (row, out)
    assert "nothing was written" in out
    assert _stored(app) == {}


def test_grade_thresholds_on_import(app, runner, tmp_path, units):
    text = "".join(
        f"HTX-OLD,{2020 + i},{score},{rating}\n"
        for i, (score, rating) in enumerate(
            [(49, "weak"), (50, "average"), (64, "average"), (65, "fair"), (80, "good")]
        )
    )
    assert _run(runner, tmp_path, text).exit_code == 0
    bad = _run(runner, tmp_path, "HTX-OLD,2020,80,fair\n")
    assert bad.exit_code == 1 and "good" in bad.output


def test_a_final_platform_assessment_is_never_overwritten(app, runner, tmp_path, units):
    with app.app_context():
        db.session.add(
            Assessment(
                unit_id=units["old"].id,
                year=2023,
                rubric_id=1,
                status=AssessmentStatus.FINAL,
                score=90,
                grade=Grade.GOOD,
            )
        )
        db.session.commit()
    result = _run(runner, tmp_path, "HTX-OLD,2022,70,fair\nHTX-OLD,2023,70,fair\n")
    assert result.exit_code == 1
    assert "row 3:" in result.output and "final" in result.output
    assert _stored(app) == {("HTX-OLD", 2023): (AssessmentStatus.FINAL, 90, Grade.GOOD)}


def test_dry_run_and_province_restriction(app, runner, tmp_path, units):
    dry = _run(runner, tmp_path, "HTX-OLD,2022,81,good\n", "--dry-run")
    assert dry.exit_code == 0 and "created 1" in dry.output
    assert _stored(app) == {}
    province = units["old"].province_code
    outside = _run(runner, tmp_path, "HTX-FAR,2022,81,good\n", "--province", str(province))
    assert outside.exit_code == 1 and "row 2:" in outside.output
    assert _stored(app) == {}


def test_xlsx_and_missing_columns(app, runner, tmp_path, units):
    wb = Workbook()
    ws = wb.active
    ws.append(["registration_code", "year", "score", "rating"])
    ws.append(["HTX-OLD", 2022, 66, "khá"])
    path = tmp_path / "kq.xlsx"
    wb.save(path)
    result = runner.invoke(args=["classification", "import", str(path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert _stored(app)[("HTX-OLD", 2022)] == (AssessmentStatus.IMPORTED, 66, Grade.FAIR)

    bad = tmp_path / "bad.csv"
    bad.write_text("registration_code,year\nHTX-OLD,2022\n", encoding="utf-8")
    result = runner.invoke(args=["classification", "import", str(bad), "--lang", "en"])
    assert result.exit_code == 1 and "row 1:" in result.output and "score" in result.output


def test_officer_uploads_only_their_province(app, client, login, officer, units):
    login(client, officer)
    good = io.BytesIO((HEADER + "HTX-OLD,2022,81,good\n").encode())
    response = post_form(client, "/classification/import", {"file": (good, "kq.csv")})
    assert response.status_code == 302
    assert ("HTX-OLD", 2022) in _stored(app)

    far = io.BytesIO((HEADER + "HTX-OLD,2023,81,good\nHTX-FAR,2022,81,good\n").encode())
    response = post_form(client, "/classification/import", {"file": (far, "kq.csv")})
    assert response.status_code == 422
    assert "HTX-FAR" in response.get_data(as_text=True)
    assert ("HTX-OLD", 2023) not in _stored(app)
