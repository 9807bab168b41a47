"""Periodic order housekeeping: unpaid orders lapse, delivered ones complete, managers get their digest."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from flask import current_app
from flask_babel import force_locale

from ..extensions import db
from .digest import send_daily_digests
from .states import complete_delivered_orders, expire_unpaid_orders


@shared_task(name="orders.expire_unpaid")
def expire_unpaid() -> int:
    """Cancel orders left unpaid past their deadline and return their stock."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        done = expire_unpaid_orders()
    db.session.commit()
    return done


@shared_task(name="orders.complete_delivered")
def complete_delivered() -> int:
    """Complete orders delivered long enough ago (ORDER_COMPLETE_AFTER_DAYS, default 14)."""
    done = complete_delivered_orders(after_days=int(current_app.config.get("ORDER_COMPLETE_AFTER_DAYS", 14)))
    db.session.commit()
    return done


@shared_task(name="orders.daily_digest")
def daily_digest(day: str | None = None) -> int:
    """Owe each unit's managers the digest of `day` (ISO date; default yesterday in Vietnam); return messages."""
    _units, messages = send_daily_digests(dt.date.fromisoformat(day) if day else None)
    db.session.commit()
    return messages
