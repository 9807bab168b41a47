"""Fixtures of the classification tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def seeded_rubric(app):
    """The rubric the migration seeds (TT01-2020, from 2020, 100 points)."""
    from ktt_market.classification.models import Rubric
    from ktt_market.extensions import db

    with app.app_context():
        rubric = db.session.get(Rubric, 1)
        info = {
            "id": rubric.id,
            "criteria": [(c.id, c.code, c.max_points) for c in rubric.criteria],
        }
    return info


@pytest.fixture
def officer(make_user):
    from ktt_market.accounts.models import Role

    return make_user(Role.OFFICER, province_code=86)


@pytest.fixture
def admin(make_user):
    from ktt_market.accounts.models import Role

    return make_user(Role.ADMIN)


@pytest.fixture(autouse=True)
def _restore_seeded_rubric(request):
    """Reopen the seeded rubric after a test that added a version (the shared cleaning keeps its row as is)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from ktt_market.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        seeded = ",".join(str(i) for i in app.config["TEST_SEEDED_RUBRIC_IDS"]) or "0"
        conn.exec_driver_sql(f"UPDATE rubrics SET last_year = NULL WHERE id IN ({seeded})")
