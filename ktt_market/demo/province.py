"""The province side of the demo: last year's classification and an open support program."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from ..accounts.models import User
from ..classification.eligibility import Eligibility, eligibility
from ..classification.models import Assessment, AssessmentStatus
from ..classification.services import grade_for, rubric_for
from ..core.i18n import local_today
from ..extensions import db
from ..programs.models import FundingSource, ProgramKind, ProgramStatus, SupportProgram
from ..registry.models import Unit

# Scores handed out in turn to the eligible units: every grade appears.
SCORES = (86, 72, 68, 55, 91, 47, 77, 63, 81, 70, 58, 66)
PROGRAM_TITLE = "Hỗ trợ hợp tác xã đưa sản phẩm lên sàn thương mại điện tử"


def load_province_demo(province_code: int, officer: User, created: Counter) -> None:
    """Grade last year's eligible units (as imported results) and open one support program; flush only."""
    today = local_today()
    year = today.year - 1
    rubric = rubric_for(year)
    if rubric is not None:
        graded = set(db.session.scalars(select(Assessment.unit_id).where(Assessment.year == year)))
        units = db.session.scalars(
            select(Unit).where(Unit.province_code == province_code).order_by(Unit.registration_code)
        )
        eligible = [u for u in units if eligibility(u, year) is Eligibility.ELIGIBLE]
        for n, unit in enumerate(eligible):
            if unit.id in graded:
                continue
            score = SCORES[n % len(SCORES)]
            db.session.add(
                Assessment(
                    unit_id=unit.id,
                    year=year,
                    rubric_id=rubric.id,
                    status=AssessmentStatus.IMPORTED,
                    score=score,
                    grade=grade_for(score, rubric),
                )
            )
            created["assessments"] += 1
    exists = db.session.scalar(
        select(SupportProgram.id).where(
            SupportProgram.province_code == province_code, SupportProgram.title == PROGRAM_TITLE
        )
    )
    if exists is None:
        db.session.add(
            SupportProgram(
                province_code=province_code,
                year=today.year,
                kind=ProgramKind.ECOMMERCE_ONBOARDING,
                title=PROGRAM_TITLE,
                description="Tập huấn bán hàng trực tuyến, chụp ảnh sản phẩm và hỗ trợ phí gian hàng năm đầu.",
                budget_vnd=500_000_000,
                funding_source=FundingSource.LOCAL,
                opens_on=today - dt.timedelta(days=7),
                closes_on=today + dt.timedelta(days=60),
                eligibility={"kinds": ["HTX"], "grades": ["good", "fair"]},
                status=ProgramStatus.OPEN,
                opened_at=dt.datetime.now(dt.UTC),
                created_by_id=officer.id,
            )
        )
        created["support_programs"] += 1
    db.session.flush()
