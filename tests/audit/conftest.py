"""Audit fixtures: officers of two provinces, an admin, and a reader of the stored events."""

from __future__ import annotations

import pytest

from ktt_market.core import places

PROVINCE = 86  # Vĩnh Long
WARD = 29242  # Phường Trà Vinh, Vĩnh Long
OTHER_PROVINCE = 79  # Thành phố Hồ Chí Minh
OTHER_WARD = next(iter(places.wards_of(OTHER_PROVINCE)))


@pytest.fixture
def officer(make_user):
    return make_user("officer", province_code=PROVINCE, full_name="Phạm Thị Thu Trang", email="trang@vl.gov.vn")


@pytest.fixture
def other_officer(make_user):
    return make_user("officer", province_code=OTHER_PROVINCE, full_name="Lê Văn Nam", email="nam@hcm.gov.vn")


@pytest.fixture
def admin(make_user):
    return make_user("admin", full_name="Nguyễn Quốc Huy", email="huy@ktt.vn")


@pytest.fixture
def events(app):
    """Return the stored audit events (optionally of one action), oldest first."""
    from sqlalchemy import select

    from ktt_market.audit.models import AuditEvent
    from ktt_market.extensions import db

    def read(action: str | None = None) -> list[AuditEvent]:
        with app.app_context():
            query = select(AuditEvent).order_by(AuditEvent.id)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            found = list(db.session.scalars(query))
            for event in found:
                db.session.expunge(event)
            return found

    return read
