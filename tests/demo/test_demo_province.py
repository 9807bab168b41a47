"""`flask demo load` also gives the officer something to look at: last year's grades and an open program."""

from __future__ import annotations

from functools import cache

import pytest

pytestmark = pytest.mark.core


@cache
def _hash(password: str) -> str:
    from ktt_market.accounts.passwords import hash_password

    return hash_password(password)


def test_demo_grades_last_year_and_opens_a_support_program(app, runner, monkeypatch):
    from ktt_market.core.i18n import local_today
    from ktt_market.extensions import db
    from ktt_market.programs.eligibility import eligible_units
    from ktt_market.programs.models import ProgramStatus, SupportProgram
    from ktt_market.province.report import annual_report

    monkeypatch.setattr("ktt_market.demo.data.hash_password", _hash)
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.test_request_context():
        year = local_today().year - 1
        figures = annual_report(86, year)["classification"]
        assert figures["eligible"] > 0 and figures["unrated"] == 0
        assert all(figures[g] > 0 for g in ("good", "fair", "average", "weak"))
        program = db.session.query(SupportProgram).one()
        assert program.status is ProgramStatus.OPEN
        assert len(eligible_units(program)) > 0
    assert "nothing to add" in runner.invoke(args=["demo", "load"]).output  # a second run adds nothing
