"""UTC timestamps that come back from the database as they went in, on every backend."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ktt_market.core.models import UTCDateTime, utcnow

pytestmark = pytest.mark.core


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == dt.timedelta(0)


def test_utc_datetime_round_trip_keeps_utc_awareness(app, make_user):
    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    user = make_user()
    # 08:15 in Vĩnh Long is 01:15 UTC.
    local = dt.datetime(2025, 7, 1, 8, 15, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    with app.app_context():
        db.session.get(User, user.id).last_login_at = local
        db.session.commit()
        db.session.remove()

    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.last_login_at == local
        assert stored.last_login_at.utcoffset() == dt.timedelta(0)
        assert stored.last_login_at.hour == 1
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == dt.timedelta(0)


def test_utc_datetime_refuses_naive_values(app, make_user):
    from sqlalchemy.exc import StatementError

    from ktt_market.accounts.models import User
    from ktt_market.extensions import db

    user = make_user()
    with app.app_context():
        db.session.get(User, user.id).last_login_at = dt.datetime(2025, 7, 1, 8, 15)
        with pytest.raises(StatementError, match="naive datetime"):
            db.session.commit()
        db.session.rollback()


def test_utc_datetime_bind_and_result_directly():
    column = UTCDateTime()
    plus7 = dt.datetime(2025, 1, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))

    bound = column.process_bind_param(plus7, None)
    assert bound == dt.datetime(2025, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert column.process_result_value(dt.datetime(2025, 1, 1, 0, 0), None).tzinfo == dt.UTC
    assert column.process_bind_param(None, None) is None
    assert column.process_result_value(None, None) is None
