"""Fixtures of the programs tests: programs, assessments and uploaded files."""

from __future__ import annotations

import datetime as dt

import pytest

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture
def login(login):
    """Log in as the shared fixture does, then read the site in English (the tests quote English messages)."""
    from tests.conftest import post_form

    def do(client, user, *args, **kwargs):
        login(client, user, *args, **kwargs)
        post_form(client, "/lang", {"lang": "en", "next": "/"})
        return client

    return do


@pytest.fixture
def today():
    from ktt_market.core.i18n import local_today

    return local_today()


@pytest.fixture
def make_program(app, today):
    """A program of province 86 (Vĩnh Long), open for the next 10 days unless told."""
    from ktt_market.core.models import utcnow
    from ktt_market.extensions import db
    from ktt_market.programs.models import FundingSource, ProgramKind, ProgramStatus, SupportProgram

    def make(**fields) -> SupportProgram:
        values = dict(
            province_code=86,
            year=today.year,
            kind=ProgramKind.ECOMMERCE_ONBOARDING,
            title="Đưa hợp tác xã lên sàn",
            budget_vnd=100_000_000,
            funding_source=FundingSource.LOCAL,
            opens_on=today - dt.timedelta(days=1),
            closes_on=today + dt.timedelta(days=10),
            eligibility={},
            status=ProgramStatus.OPEN,
        )
        values.update(fields)
        if values["status"] is not ProgramStatus.DRAFT:
            values.setdefault("opened_at", utcnow())
        with app.app_context():
            program = SupportProgram(**values)
            db.session.add(program)
            db.session.commit()
            db.session.refresh(program)
            db.session.expunge(program)
        return program

    return make


@pytest.fixture
def make_assessment(app):
    """A classification result of `unit` for `year` (final unless told)."""
    from ktt_market.classification.models import Assessment, AssessmentStatus, Grade
    from ktt_market.extensions import db

    scores = {Grade.GOOD: 85, Grade.FAIR: 70, Grade.AVERAGE: 55, Grade.WEAK: 30}

    def make(unit, year: int, grade, status=AssessmentStatus.FINAL):
        grade = Grade(grade)
        with app.app_context():
            db.session.add(
                Assessment(unit_id=unit.id, year=year, rubric_id=1, status=status, grade=grade, score=scores[grade])
            )
            db.session.commit()

    return make


@pytest.fixture
def make_application(app):
    """An application of `unit` to `program` (submitted unless told)."""
    from ktt_market.extensions import db
    from ktt_market.programs.models import ApplicationStatus, ProgramApplication

    def make(program, unit, status=ApplicationStatus.SUBMITTED, **fields):
        with app.app_context():
            application = ProgramApplication(program_id=program.id, unit_id=unit.id, status=status, **fields)
            db.session.add(application)
            db.session.commit()
            db.session.refresh(application)
            db.session.expunge(application)
        return application

    return make
