"""Two workers handed the same message at the same moment: the conditional claim lets one send."""

from __future__ import annotations

import threading

import pytest

from ktt_market.accounts.models import User
from ktt_market.extensions import db
from ktt_market.notifications import services, tasks
from ktt_market.notifications.models import Channel, Kind

pytestmark = pytest.mark.postgres_only


def test_two_concurrent_deliveries_send_once(app, smtp, buyer):
    with app.app_context():
        user = db.session.get(User, buyer.id)
        ids = [
            m.id
            for n in range(5)
            for m in services.notify(Kind.UNIT_APPROVED, user=user, payload={}, object_key=f"a-{n}")
            if m.channel is Channel.EMAIL
        ]
        db.session.commit()
        db.session.remove()
    for message_id in ids:
        barrier = threading.Barrier(2)
        results = []

        def worker(message_id=message_id, barrier=barrier, results=results):
            barrier.wait()
            results.append(tasks.deliver(message_id))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == ["sent", "skipped"]
    assert len(smtp.sent) == len(ids) == 5
