"""The outbox: notify owes each chosen channel one message, once, inside the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ktt_market.accounts.models import User
from ktt_market.core.errors import ServiceError
from ktt_market.extensions import db
from ktt_market.notifications import services
from ktt_market.notifications.models import Kind, OutboxMessage

pytestmark = pytest.mark.core


def rows() -> list[tuple[str, str]]:
    return [(m.kind, str(m.channel)) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_notify_owes_email_and_inbox_by_default_and_only_once(ctx, buyer):
    user = db.session.get(User, buyer.id)
    first = services.notify(Kind.ORDER_CONFIRMED, user=user, payload={"number": "KTT-1"}, object_key="order-1")
    assert sorted(str(m.channel) for m in first) == ["email", "inapp"]
    again = services.notify(Kind.ORDER_CONFIRMED, user=user, payload={"number": "KTT-1"}, object_key="order-1")
    assert again == []
    db.session.commit()
    assert services.notify(Kind.ORDER_CONFIRMED, user=user, payload={}, object_key="order-1") == []
    assert len(rows()) == 2
    keys = set(db.session.scalars(select(OutboxMessage.key)))
    assert keys == {f"order_confirmed:order-1:{user.id}:email", f"order_confirmed:order-1:{user.id}:inapp"}
    email = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert (email.recipient, email.locale, email.payload) == (user.email, "vi", {"number": "KTT-1"})


def test_preferences_choose_the_channels(ctx, buyer):
    user = db.session.get(User, buyer.id)
    services.set_preferences(
        user, actor=user, chosen=[("order_shipped", "sms"), ("order_shipped", "inapp"), ("low_stock", "email")]
    )
    db.session.commit()
    services.notify(Kind.ORDER_SHIPPED, user=user, payload={}, object_key="o-1")
    services.notify(Kind.ORDER_DELIVERED, user=user, payload={}, object_key="o-1")  # every box unticked
    services.notify(Kind.LOW_STOCK, user=user, payload={}, object_key="p-1")
    assert rows() == [("order_shipped", "sms"), ("order_shipped", "inapp"), ("low_stock", "email")]
    sms = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert sms.recipient == "0912345678"
    matrix = services.preference_matrix(user)
    assert matrix[("order_shipped", "email")] is False and matrix[("order_shipped", "sms")] is True


def test_phone_channels_need_a_phone_number(ctx, english_buyer):
    user = db.session.get(User, english_buyer.id)
    with pytest.raises(ServiceError) as caught:
        services.set_preferences(user, actor=user, chosen=[("order_shipped", "zalo")])
    assert caught.value.field == "sms"


def test_nobody_sets_someone_elses_preferences(ctx, buyer, english_buyer):
    with pytest.raises(ServiceError):
        services.set_preferences(
            db.session.get(User, buyer.id), actor=db.session.get(User, english_buyer.id), chosen=[]
        )


def test_the_unique_key_stops_a_duplicate_that_slipped_past_the_check(ctx, buyer):
    from sqlalchemy.exc import IntegrityError

    user = db.session.get(User, buyer.id)
    services.notify(Kind.UNIT_APPROVED, user=user, payload={}, object_key="a-1")
    db.session.commit()
    twin = OutboxMessage(
        key=f"unit_approved:a-1:{user.id}:email",
        channel="email",
        user_id=user.id,
        recipient=user.email,
        kind="unit_approved",
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
